"""Measuring and drawing one run of text in one face.

An outline face draws through ``ImageDraw.text``. A colour bitmap face (Noto Color Emoji) has
glyphs of one pixel size only and Pillow cannot scale them, so its run is drawn in colour
(``embedded_color``) at that size on a tile of its own, scaled to the text's size, and
composited onto the image the ``ImageDraw`` draws on.
"""

from __future__ import annotations

import math
from functools import lru_cache

from PIL import Image, ImageDraw

from montage.generators.builtin.doc.fonts import FontFace

Fill = tuple[int, ...]


@lru_cache(maxsize=65536)
def run_width(face: FontFace, size: float, text: str) -> float:
    """Width of ``text`` drawn in ``face`` for text of ``size`` pixels."""
    return float(face.font(size).getlength(text)) * face.scale(size)


def draw_run(draw: ImageDraw.ImageDraw, xy: tuple[float, float], face: FontFace, size: float, text: str,
             fill: Fill, stroke: int = 0, stroke_fill: Fill | None = None) -> float:
    """Draw ``text`` with the left end of its baseline at ``xy``; returns its width. A colour
    run takes the alpha of ``fill`` (a watermark's opacity) and has no stroke."""
    if face.bitmap_size:
        _paste(draw._image, _colour_tile(face, size, text, fill[3] if len(fill) > 3 else 255), xy, face, size)
    else:
        draw.text(xy, text, font=face.font(size), fill=fill, anchor="ls", stroke_width=stroke,
                  stroke_fill=stroke_fill)
    return run_width(face, size, text)


def _colour_tile(face: FontFace, size: float, text: str, alpha: int) -> Image.Image:
    font = face.font(size)
    ascent, descent = font.getmetrics()
    tile = Image.new("RGBA", (max(1, math.ceil(font.getlength(text))), ascent + descent), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((0, ascent), text, font=font, embedded_color=True, anchor="ls")
    scale = face.scale(size)
    tile = tile.resize((max(1, round(tile.width * scale)), max(1, round(tile.height * scale))),
                       Image.Resampling.LANCZOS)
    if alpha < 255:
        tile.putalpha(tile.getchannel("A").point(lambda a: a * alpha // 255))
    return tile


def _paste(image: Image.Image, tile: Image.Image, xy: tuple[float, float], face: FontFace, size: float) -> None:
    """``tile`` over ``image`` with its baseline at ``xy``; the part outside the image left out."""
    ascent = face.font(size).getmetrics()[0] * face.scale(size)
    x, y = round(xy[0]), round(xy[1] - ascent)
    left, top = max(0, x), max(0, y)
    right, bottom = min(image.width, x + tile.width), min(image.height, y + tile.height)
    if right <= left or bottom <= top:
        return
    piece = tile.crop((left - x, top - y, right - x, bottom - y))
    if image.mode == "RGBA":
        image.alpha_composite(piece, (left, top))
    else:
        image.paste(piece, (left, top), piece)
