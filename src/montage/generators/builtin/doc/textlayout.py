"""Measuring, wrapping and drawing text in a chain of faces.

Chinese, Japanese and Korean wrap between any two characters, other scripts between
words; a word wider than the line is broken between characters; closing punctuation
never starts a line. Every character drawn is recorded against the face that drew it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import ImageDraw

from montage.generators.builtin.doc.emoji import clusters
from montage.generators.builtin.doc.fonts import FontFace, split_runs
from montage.generators.builtin.doc.glyphs import draw_run, run_width
from montage.generators.builtin.doc.text import NO_LINE_START, is_wide, tokens

RGB = tuple[int, int, int]



@dataclass
class GlyphLog:
    """Which characters each face drew, and which no face could draw."""

    used: dict[str, set[str]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)

    def record(self, face: FontFace, text: str) -> None:
        self.used.setdefault(face.key, set()).update(ch for ch in text if not ch.isspace())


class TextPainter:
    """Text of one chain of faces at one size."""

    def __init__(self, chain: tuple[FontFace, ...], size: float, log: GlyphLog,
                 line_spacing: float = 1.4) -> None:
        self.chain = chain
        self.size = max(6, round(size))
        self.log = log
        ascent, descent = chain[0].font(self.size).getmetrics()
        self.ascent = ascent
        self.line_height = round((ascent + descent) * line_spacing)

    def width(self, text: str) -> float:
        """Width of ``text`` drawn with this painter, in pixels."""
        return sum(run_width(f, self.size, run) for f, run in split_runs(text, self.chain))

    def draw(self, draw: ImageDraw.ImageDraw, x: float, top: float, text: str, fill: RGB) -> float:
        """Draw one line with its top at ``top``; returns the x after the text."""
        baseline = top + self.ascent
        for face, run in split_runs(text, self.chain, self.log.missing):
            x += draw_run(draw, (x, baseline), face, self.size, run, fill)
            self.log.record(face, run)
        return x


def wrap(text: str, painter: TextPainter, max_width: float) -> list[str]:
    """``text`` broken into lines no wider than ``max_width`` (explicit newlines kept)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, painter, max_width))
    return lines


def _wrap_paragraph(paragraph: str, painter: TextPainter, max_width: float) -> list[str]:
    lines: list[str] = []
    line: list[str] = []
    used = 0.0
    for token in _breakable(tokens(paragraph), painter, max_width):
        width = painter.width(token)
        if token.isspace():
            if line:
                line.append(token)
                used += width
            continue
        if used + width <= max_width or not line:
            line.append(token)
            used += width
            continue
        carried = _carry_for_punctuation(line, token)
        lines.append("".join(line).rstrip())
        line = [*carried, token]
        used = sum(painter.width(t) for t in line)
    lines.append("".join(line).rstrip())
    return lines


def _breakable(items: list[str], painter: TextPainter, max_width: float) -> list[str]:
    """Tokens wider than a line split into single characters (an emoji's code points kept together)."""
    out: list[str] = []
    for token in items:
        if not token.isspace() and len(token) > 1 and painter.width(token) > max_width:
            out.extend(clusters(token))
        else:
            out.append(token)
    return out


def _carry_for_punctuation(line: list[str], token: str) -> list[str]:
    # Closing punctuation may not start a line: take the character before it along.
    if token[0] in NO_LINE_START and len(line) > 1 and is_wide(line[-1][-1]):
        return [line.pop()]
    return []
