"""Text drawn on images (watermarks, contact-sheet labels) in the fonts slides use, so Chinese
renders as well as Latin; Pillow's own font, which has no Han glyphs, only when no font is
installed. Each character goes to the first face that has it (see ``doc.fonts``).
"""

from __future__ import annotations

from functools import lru_cache

from PIL import ImageDraw, ImageFont

from montage.errors import GeneratorError
from montage.generators.builtin.doc.fonts import FontFace, font_chains, split_runs

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGBA = tuple[int, int, int, int]
ELLIPSIS = "…"


@lru_cache(maxsize=1)
def _chain() -> tuple[FontFace, ...]:
    try:
        return font_chains("SC").regular
    except GeneratorError:
        return ()


def runs(text: str, size: int) -> list[tuple[Font, str]]:
    """``text`` as (font, characters) runs at ``size`` pixels."""
    chain = _chain()
    if not chain:
        return [(ImageFont.load_default(size=size), text)]
    return [(face.font(size), run) for face, run in split_runs(text, chain)]


def text_size(text: str, size: int, stroke: int = 0) -> tuple[int, int, int]:
    """(width, height, ascent) of one line of ``text``, its stroke included."""
    pieces = runs(text, size)
    width = sum(font.getlength(run) for font, run in pieces)
    ascent, descent = _metrics(pieces[0][0]) if pieces else (size, 0)
    return round(width) + 2 * stroke, ascent + descent + 2 * stroke, ascent + stroke


def _metrics(font: Font) -> tuple[int, int]:
    if isinstance(font, ImageFont.FreeTypeFont):
        return font.getmetrics()
    return int(font.getbbox("Ag")[3]), 0


def draw_line(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int, fill: RGBA | tuple[int, ...],
              stroke: int = 0, stroke_fill: RGBA | tuple[int, ...] | None = None) -> None:
    """Draw one line with its box's top-left corner (stroke included) at ``xy``."""
    _, _, ascent = text_size(text, size, stroke)
    x, baseline = float(xy[0] + stroke), xy[1] + ascent
    for font, run in runs(text, size):
        draw.text((x, baseline), run, font=font, fill=fill, anchor="ls", stroke_width=stroke,
                  stroke_fill=stroke_fill)
        x += font.getlength(run)


def fit(text: str, size: int, max_width: int) -> str:
    """``text`` cut (ending in …) so it is at most ``max_width`` pixels wide."""
    if text_size(text, size)[0] <= max_width:
        return text
    while text and text_size(text + ELLIPSIS, size)[0] > max_width:
        text = text[:-1]
    return text + ELLIPSIS if text else ""
