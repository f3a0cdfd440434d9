"""Text drawn on images (watermarks, contact-sheet labels) in the fonts slides use, so Chinese
and emoji render as well as Latin; Pillow's own font, which has no Han glyphs, only when no font
is installed. Each character goes to the first face that has it, an emoji to the colour emoji
face (see ``doc.fonts``).
"""

from __future__ import annotations

from functools import lru_cache

from PIL import ImageDraw, ImageFont

from montage.errors import GeneratorError
from montage.generators.builtin.doc.fonts import FontFace, font_chains, split_runs
from montage.generators.builtin.doc.glyphs import draw_run, run_width

Fill = tuple[int, ...]
ELLIPSIS = "…"


@lru_cache(maxsize=1)
def _chain() -> tuple[FontFace, ...]:
    try:
        return font_chains("SC").regular
    except GeneratorError:
        return ()


def undrawable(text: str) -> list[str]:
    """The characters of ``text`` no installed font has (drawn as ``?``), in order of appearance."""
    chain = _chain()
    if not chain:
        return []
    missing: set[str] = set()
    split_runs(text, chain, missing)
    return [ch for ch in dict.fromkeys(text) if ch in missing]


def text_size(text: str, size: int, stroke: int = 0) -> tuple[int, int, int]:
    """(width, height, ascent) of one line of ``text``, its stroke included."""
    chain = _chain()
    if not chain:
        font = ImageFont.load_default(size=size)
        width, (ascent, descent) = font.getlength(text), _metrics(font)
    else:
        runs = split_runs(text, chain)
        width = sum(run_width(face, size, run) for face, run in runs)
        first = runs[0][0] if runs and not runs[0][0].bitmap_size else chain[0]
        ascent, descent = first.font(size).getmetrics()
    return round(width) + 2 * stroke, ascent + descent + 2 * stroke, ascent + stroke


def _metrics(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> tuple[int, int]:
    if isinstance(font, ImageFont.FreeTypeFont):
        return font.getmetrics()
    return int(font.getbbox("Ag")[3]), 0


def draw_line(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int, fill: Fill,
              stroke: int = 0, stroke_fill: Fill | None = None) -> None:
    """Draw one line with its box's top-left corner (stroke included) at ``xy``."""
    _, _, ascent = text_size(text, size, stroke)
    x, baseline = float(xy[0] + stroke), float(xy[1] + ascent)
    chain = _chain()
    if not chain:
        draw.text((x, baseline), text, font=ImageFont.load_default(size=size), fill=fill, anchor="ls",
                  stroke_width=stroke, stroke_fill=stroke_fill)
        return
    for face, run in split_runs(text, chain):
        x += draw_run(draw, (x, baseline), face, size, run, fill, stroke, stroke_fill)


def fit(text: str, size: int, max_width: int) -> str:
    """``text`` cut (ending in …) so it is at most ``max_width`` pixels wide."""
    if text_size(text, size)[0] <= max_width:
        return text
    while text and text_size(text + ELLIPSIS, size)[0] > max_width:
        text = text[:-1]
    return text + ELLIPSIS if text else ""
