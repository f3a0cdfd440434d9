"""One slide as an image: background, title in one of three layouts, body, footer.

The body is laid out at the largest scale at which it fits; if even the smallest does not
fit, trailing elements are left out and a "…" marks the cut. The body is painted on its own
layer the size of its box, so nothing can spill outside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from montage.generators.builtin.doc.elements import layout_element
from montage.generators.builtin.doc.slidebase import Laid, SlideStyle, paint_lines
from montage.generators.builtin.doc.text import shorten
from montage.generators.builtin.doc.textlayout import TextPainter, wrap

SCALES = (1.0, 0.9, 0.8, 0.72, 0.64, 0.57, 0.5)


@dataclass(frozen=True)
class Box:
    """A rectangle on the slide."""

    x: float
    y: float
    w: float
    h: float


@dataclass
class SlideResult:
    """How a slide's body fitted."""

    scale: float
    dropped: int


@dataclass
class _Canvas:
    image: Image.Image
    draw: ImageDraw.ImageDraw
    style: SlideStyle
    ux: float  # horizontal pixels per pixel of a 1920-wide slide

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


def render_slide(slide: dict[str, Any], deck_title: str, total: int, style: SlideStyle,
                 size: tuple[int, int], layout: str) -> tuple[Image.Image, SlideResult]:
    """Paint ``slide`` (an outline slide) at ``size`` in ``layout``."""
    image = Image.new("RGB", size, style.theme.background)
    canvas = _Canvas(image, ImageDraw.Draw(image), style, size[0] / 1920)
    hero = slide.get("kind") == "title"
    frame = _LAYOUTS.get(layout, _classic)
    body = frame(canvas, str(slide.get("title") or deck_title), hero)
    result = _paint_body(canvas, slide.get("elements") or [], body)
    _footer(canvas, deck_title, int(slide.get("index", 1)), total, layout)
    return image, result


def _title_lines(canvas: _Canvas, title: str, width: float, hero: bool,
                 max_lines: int) -> tuple[TextPainter, list[str]]:
    sizes = (84, 76, 68, 60) if hero else (60, 54, 48, 44)
    for size in sizes:
        painter = canvas.style.painter("bold", size, 1.25)
        lines = wrap(title, painter, width)
        if len(lines) <= max_lines:
            return painter, lines
    lines = wrap(title, painter, width)
    return painter, lines[: max_lines - 1] + wrap(shorten(" ".join(lines[max_lines - 1:]), 40), painter, width)[:1]


def _palette_strip(canvas: _Canvas, box: Box, skip_first: bool = False) -> None:
    palette = canvas.style.theme.palette
    palette = palette[1:] if skip_first and len(palette) > 1 else palette
    step = box.w / len(palette)
    for number, color in enumerate(palette):
        canvas.draw.rectangle([box.x + number * step, box.y, box.x + (number + 1) * step, box.y + box.h], fill=color)


def _classic(canvas: _Canvas, title: str, hero: bool) -> Box:
    u, margin = canvas.style.unit, 110 * canvas.ux
    theme = canvas.style.theme
    _palette_strip(canvas, Box(0, 0, canvas.width, 10 * u))
    top = (260 if hero else 80) * u
    painter, lines = _title_lines(canvas, title, canvas.width - 2 * margin, hero, 3 if hero else 2)
    paint_lines(lines, painter, theme.title)(canvas.draw, canvas.image, margin, top)
    bar_y = top + len(lines) * painter.line_height + 16 * u
    canvas.draw.rectangle([margin, bar_y, margin + 140 * u, bar_y + 9 * u], fill=theme.accent)
    body_y = bar_y + 56 * u
    return Box(margin, body_y, canvas.width - 2 * margin, canvas.height - body_y - 100 * u)


def _banner(canvas: _Canvas, title: str, hero: bool) -> Box:
    u, margin = canvas.style.unit, 110 * canvas.ux
    theme = canvas.style.theme
    painter, lines = _title_lines(canvas, title, canvas.width - 2 * margin, hero, 3 if hero else 2)
    top = (200 if hero else 64) * u
    band_bottom = top + len(lines) * painter.line_height + 56 * u
    canvas.draw.rectangle([0, 0, canvas.width, band_bottom], fill=theme.accent)
    _palette_strip(canvas, Box(0, band_bottom, canvas.width, 8 * u), skip_first=True)
    paint_lines(lines, painter, theme.on_accent)(canvas.draw, canvas.image, margin, top)
    body_y = band_bottom + 60 * u
    return Box(margin, body_y, canvas.width - 2 * margin, canvas.height - body_y - 100 * u)


def _sidebar(canvas: _Canvas, title: str, hero: bool) -> Box:
    u, ux = canvas.style.unit, canvas.ux
    theme = canvas.style.theme
    band = canvas.width * (0.4 if hero else 0.3)
    canvas.draw.rectangle([0, 0, band, canvas.height], fill=theme.accent)
    painter, lines = _title_lines(canvas, title, band - 140 * ux, hero, 6)
    top = max(110 * u, (canvas.height - len(lines) * painter.line_height) / 2 if hero else 110 * u)
    paint_lines(lines, painter, theme.on_accent)(canvas.draw, canvas.image, 70 * ux, top)
    _palette_strip(canvas, Box(70 * ux, top + len(lines) * painter.line_height + 24 * u, 160 * u, 8 * u))
    left = band + 90 * ux
    return Box(left, 110 * u, canvas.width - left - 100 * ux, canvas.height - 210 * u)


_LAYOUTS: dict[str, Callable[[_Canvas, str, bool], Box]] = {
    "classic": _classic, "banner": _banner, "sidebar": _sidebar,
}


def fit_body(elements: list[dict[str, Any]], style: SlideStyle, box: Box) -> tuple[list[Laid], float, int]:
    """The elements laid out at the largest scale that fits ``box``; (laid, scale, left out)."""
    laid: list[Laid] = []
    for scale in SCALES:
        gap = 30 * style.unit * scale
        laid = [layout_element(e, style, box.w, scale) for e in elements]
        if sum(item.height for item in laid) + gap * max(0, len(laid) - 1) <= box.h:
            return laid, scale, 0
    kept: list[Laid] = []
    used = 0.0
    for item in laid:
        if kept and used + item.height > box.h:
            break
        kept.append(item)
        used += item.height + 30 * style.unit * SCALES[-1]
    return kept, SCALES[-1], len(laid) - len(kept)


def _paint_body(canvas: _Canvas, elements: list[dict[str, Any]], box: Box) -> SlideResult:
    if not elements or box.w <= 0 or box.h <= 0:
        return SlideResult(1.0, 0)
    style = canvas.style
    laid, scale, dropped = fit_body(elements, style, box)
    layer = Image.new("RGB", (int(box.w), int(box.h)), style.theme.background)
    draw = ImageDraw.Draw(layer)
    y = 0.0
    for item in laid:
        item.paint(draw, layer, 0, y)
        y += item.height + 30 * style.unit * scale
    if dropped:
        marker = style.painter("bold", 40)
        marker.draw(draw, box.w - marker.width("…") - 4, box.h - marker.line_height, "…", style.theme.accent)
    canvas.image.paste(layer, (int(box.x), int(box.y)))
    return SlideResult(scale, dropped)


def _footer(canvas: _Canvas, deck_title: str, number: int, total: int, layout: str) -> None:
    style = canvas.style
    painter = style.painter("regular", 24)
    u, ux = style.unit, canvas.ux
    top = canvas.height - 64 * u
    page = f"{number} / {total}"
    painter.draw(canvas.draw, canvas.width - 100 * ux - painter.width(page), top, page, style.theme.muted)
    if layout == "sidebar":
        return
    label = shorten(deck_title, 60)
    painter.draw(canvas.draw, 110 * ux, top, label, style.theme.muted)
