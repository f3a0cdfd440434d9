"""What every slide element shares: its measured size, its painter and the slide's style."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw

from montage.generators.builtin.doc.fonts import FontChains
from montage.generators.builtin.doc.textlayout import GlyphLog, TextPainter
from montage.generators.builtin.doc.themes import Theme

Paint = Callable[[ImageDraw.ImageDraw, Image.Image, float, float], None]
RGB = tuple[int, int, int]


@dataclass
class Laid:
    """An element measured for a width: its height and how to paint it at (x, y)."""

    height: float
    paint: Paint


@dataclass
class SlideStyle:
    """What elements need to know to lay themselves out."""

    theme: Theme
    chains: FontChains
    log: GlyphLog
    unit: float  # pixels per pixel of a 1080-high slide

    def painter(self, kind: str, size: float, spacing: float = 1.4) -> TextPainter:
        """A painter for ``kind`` ("regular", "bold" or "mono") at ``size`` 1080p pixels."""
        chain = {"regular": self.chains.regular, "bold": self.chains.bold, "mono": self.chains.mono}[kind]
        return TextPainter(chain, size * self.unit, self.log, spacing)


def paint_lines(lines: list[str], painter: TextPainter, color: RGB) -> Paint:
    """A painter for already wrapped lines."""

    def paint(draw: ImageDraw.ImageDraw, image: Image.Image, x: float, y: float) -> None:
        for number, line in enumerate(lines):
            painter.draw(draw, x, y + number * painter.line_height, line, color)

    return paint
