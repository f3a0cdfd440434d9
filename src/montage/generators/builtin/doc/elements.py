"""Slide elements laid out at a size: paragraph, list, code, table, image, quote, agenda.

``layout_element`` measures an element for a width and a scale and returns its height and
a function that paints it. Sizes are given for a 1080-pixel-high slide and multiplied by
``SlideStyle.unit`` for other heights.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from PIL import Image, ImageDraw

from montage.generators.builtin.doc.codecolors import Segment, highlight_code
from montage.generators.builtin.doc.slidebase import Laid, SlideStyle, paint_lines
from montage.generators.builtin.doc.tables import layout_table
from montage.generators.builtin.doc.textlayout import TextPainter, wrap

BODY_SIZE = 40
CODE_SIZE = 30


def layout_element(element: dict[str, Any], style: SlideStyle, width: float, scale: float) -> Laid:
    """Measure ``element`` for ``width`` pixels at ``scale`` (1.0 = full size)."""
    builder = _BUILDERS.get(element.get("type", ""), _paragraph)
    return builder(element, style, width, scale)


def _paragraph(element: dict[str, Any], style: SlideStyle, width: float, scale: float) -> Laid:
    painter = style.painter("regular", BODY_SIZE * scale)
    lines = wrap(str(element.get("text", "")), painter, width)
    return Laid(len(lines) * painter.line_height, paint_lines(lines, painter, style.theme.text))


def _subheading(element: dict[str, Any], style: SlideStyle, width: float, scale: float) -> Laid:
    painter = style.painter("bold", 44 * scale, 1.3)
    lines = wrap(element["text"], painter, width)
    return Laid(len(lines) * painter.line_height, paint_lines(lines, painter, style.theme.accent))


def _quote(element: dict[str, Any], style: SlideStyle, width: float, scale: float) -> Laid:
    painter = style.painter("regular", 38 * scale)
    indent = 36 * style.unit * scale
    lines = wrap(element["text"], painter, width - indent)
    height = len(lines) * painter.line_height
    draw_text = paint_lines(lines, painter, style.theme.muted)

    def paint(draw: ImageDraw.ImageDraw, image: Image.Image, x: float, y: float) -> None:
        draw.rectangle([x, y, x + 8 * style.unit * scale, y + height], fill=style.theme.accent)
        draw_text(draw, image, x + indent, y)

    return Laid(height, paint)


def _list(element: dict[str, Any], style: SlideStyle, width: float, scale: float) -> Laid:
    painter = style.painter("regular", BODY_SIZE * scale)
    number_painter = style.painter("bold", BODY_SIZE * scale)
    indent = 48 * style.unit * scale
    marker = 44 * style.unit * scale
    gap = painter.line_height * 0.25
    placed: list[tuple[float, float, str, list[str]]] = []  # (y, x, marker text, lines)
    y, counter = 0.0, 0
    for item in element.get("items", []):
        level = int(item.get("level", 0))
        counter = counter + 1 if level == 0 else counter
        label = f"{counter}." if element.get("ordered") and level == 0 else ""
        x = level * indent
        lines = wrap(item["text"], painter, width - x - marker)
        placed.append((y, x, label, lines))
        y += len(lines) * painter.line_height + gap
    palette = style.theme.palette

    def paint(draw: ImageDraw.ImageDraw, image: Image.Image, x0: float, y0: float) -> None:
        for top, x, label, lines in placed:
            color = palette[int(x / indent) % len(palette)] if indent else palette[0]
            if label:
                number_painter.draw(draw, x0 + x, y0 + top, label, style.theme.accent)
            else:
                radius = painter.size * 0.16
                cy, cx = y0 + top + painter.ascent * 0.66, x0 + x + radius + 2
                draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=color)
            paint_lines(lines, painter, style.theme.text)(draw, image, x0 + x + marker, y0 + top)

    return Laid(max(0.0, y - gap), paint)


def _agenda(element: dict[str, Any], style: SlideStyle, width: float, scale: float) -> Laid:
    items = [{"text": text, "level": 0} for text in element.get("items", [])]
    return _list({"type": "list", "ordered": True, "items": items}, style, width, scale)


def _code(element: dict[str, Any], style: SlideStyle, width: float, scale: float) -> Laid:
    painter = style.painter("mono", CODE_SIZE * scale, 1.35)
    label_painter = style.painter("regular", 22 * scale)
    pad = 26 * style.unit * scale
    colors = style.theme.code
    lines: list[list[Segment]] = []
    for line in highlight_code(element.get("code", ""), element.get("language", ""), colors):
        lines.extend(_wrap_segments(line, painter, width - 2 * pad))
    height = 2 * pad + len(lines) * painter.line_height
    label = str(element.get("language") or "")

    def paint(draw: ImageDraw.ImageDraw, image: Image.Image, x: float, y: float) -> None:
        draw.rounded_rectangle([x, y, x + width, y + height], radius=14 * style.unit,
                               fill=style.theme.code_background, outline=style.theme.border,
                               width=max(1, int(2 * style.unit)))
        if label:
            label_x = x + width - pad - label_painter.width(label)
            label_painter.draw(draw, label_x, y + pad * 0.35, label, style.theme.muted)
        for number, segments in enumerate(lines):
            cursor = x + pad
            for text, color in segments:
                cursor = painter.draw(draw, cursor, y + pad + number * painter.line_height, text, color)

    return Laid(height, paint)


def _wrap_segments(segments: list[Segment], painter: TextPainter, width: float) -> list[list[Segment]]:
    """One code line as one or more visual lines, broken between characters."""
    if painter.width("".join(text for text, _ in segments)) <= width:
        return [segments]
    lines: list[list[Segment]] = [[]]
    used = 0.0
    for text, color in segments:
        for ch in text:
            advance = painter.width(ch)
            if used + advance > width and lines[-1]:
                lines.append([])
                used = 0.0
            current = lines[-1]
            if current and current[-1][1] == color:
                current[-1] = (current[-1][0] + ch, color)
            else:
                current.append((ch, color))
            used += advance
    return lines


def _image(element: dict[str, Any], style: SlideStyle, width: float, scale: float) -> Laid:
    painter = style.painter("regular", 32 * scale)
    unit = style.unit * scale
    height = 300 * unit
    icon = 150 * unit
    caption = str(element.get("alt") or PurePosixPath(str(element.get("src") or "")).name or "image")
    lines = wrap(caption, painter, width - icon - 120 * unit)[:3]
    theme = style.theme

    def paint(draw: ImageDraw.ImageDraw, image: Image.Image, x: float, y: float) -> None:
        draw.rounded_rectangle([x, y, x + width, y + height], radius=18 * style.unit, fill=theme.surface)
        left, top = x + 50 * unit, y + (height - icon) / 2
        draw.rounded_rectangle([left, top, left + icon, top + icon], radius=10 * unit, outline=theme.muted,
                               width=max(1, int(5 * unit)))
        draw.polygon([(left + 15 * unit, top + icon - 20 * unit), (left + 60 * unit, top + 60 * unit),
                      (left + 95 * unit, top + icon - 20 * unit)], fill=theme.accent)
        draw.ellipse([left + 95 * unit, top + 25 * unit, left + 125 * unit, top + 55 * unit],
                     fill=theme.palette[-1])
        text_top = y + (height - len(lines) * painter.line_height) / 2
        paint_lines(lines, painter, theme.text)(draw, image, left + icon + 50 * unit, text_top)

    return Laid(height, paint)


_BUILDERS: dict[str, Callable[[dict[str, Any], SlideStyle, float, float], Laid]] = {
    "paragraph": _paragraph, "subheading": _subheading, "quote": _quote, "list": _list,
    "agenda": _agenda, "code": _code, "image": _image, "table": layout_table,
}

