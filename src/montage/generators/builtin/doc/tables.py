"""Tables on slides: columns sized to their content, wrapped cells, a header band, stripes."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageDraw

from montage.generators.builtin.doc.slidebase import Laid, SlideStyle, paint_lines
from montage.generators.builtin.doc.textlayout import TextPainter, wrap

TABLE_SIZE = 30


def _cells(element: dict[str, Any]) -> list[list[str]]:
    rows = [list(element.get("header") or [])] + [list(r) for r in element.get("rows") or []]
    columns = max(len(r) for r in rows) or 1
    return [[str(c) for c in r] + [""] * (columns - len(r)) for r in rows]


def column_widths(natural: list[float], width: float, minimum: float) -> list[float]:
    """Widths for columns whose content wants ``natural`` pixels, filling ``width`` exactly.

    Narrow columns get what they want; the wide ones share what is left (water-filling),
    so a long description column wraps instead of squeezing the short ones.
    """
    if sum(natural) <= width:
        extra = (width - sum(natural)) / len(natural)
        return [n + extra for n in natural]
    widths: dict[int, float] = {}
    remaining = width
    while len(widths) < len(natural):
        open_columns = [c for c in range(len(natural)) if c not in widths]
        share = remaining / len(open_columns)
        narrow = [c for c in open_columns if natural[c] <= share]
        if not narrow:
            for c in open_columns:
                widths[c] = max(minimum, share)
            break
        for c in narrow:
            widths[c] = natural[c]
            remaining -= natural[c]
    factor = width / sum(widths.values())
    return [widths[c] * factor for c in range(len(natural))]


def layout_table(element: dict[str, Any], style: SlideStyle, width: float, scale: float) -> Laid:
    """Measure a table for ``width`` pixels at ``scale``."""
    body = style.painter("regular", TABLE_SIZE * scale, 1.3)
    head = style.painter("bold", TABLE_SIZE * scale, 1.3)
    pad_x, pad_y = 18 * style.unit * scale, 10 * style.unit * scale
    rows = _cells(element)
    natural = [max((head if r == 0 else body).width(rows[r][c]) for r in range(len(rows))) + 2 * pad_x
               for c in range(len(rows[0]))]
    widths = column_widths(natural, width, minimum=4 * body.size + 2 * pad_x)
    wrapped = [[wrap(cell, head if r == 0 else body, max(1.0, widths[c] - 2 * pad_x))
                for c, cell in enumerate(row)] for r, row in enumerate(rows)]
    heights = [max(len(lines) for lines in row) * body.line_height + 2 * pad_y for row in wrapped]
    return Laid(sum(heights), _table_paint(style, wrapped, widths, heights, (head, body), (pad_x, pad_y)))


def _table_paint(style: SlideStyle, wrapped: list[list[list[str]]], widths: list[float],
                 heights: list[float], painters: tuple[TextPainter, TextPainter],
                 pads: tuple[float, float]) -> Any:
    theme = style.theme
    line = max(1, int(2 * style.unit))

    def paint(draw: ImageDraw.ImageDraw, image: Image.Image, x: float, y: float) -> None:
        top = y
        for r, row in enumerate(wrapped):
            fill = theme.table_header if r == 0 else (theme.table_stripe if r % 2 == 0 else theme.background)
            draw.rectangle([x, top, x + sum(widths), top + heights[r]], fill=fill)
            left = x
            for c, lines in enumerate(row):
                color = theme.table_header_text if r == 0 else theme.text
                paint_lines(lines, painters[0 if r == 0 else 1], color)(draw, image, left + pads[0], top + pads[1])
                left += widths[c]
            top += heights[r]
            draw.line([x, top, x + sum(widths), top], fill=theme.border, width=line)
        draw.rectangle([x, y, x + sum(widths), top], outline=theme.border, width=line)

    return paint
