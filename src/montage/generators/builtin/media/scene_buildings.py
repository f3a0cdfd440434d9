"""Built layers: city skylines with lit windows and neon, a dojo, banners, lanterns, palms."""

from __future__ import annotations

import numpy as np

from montage.generators.builtin.media.palette import Colour, mix, scale
from montage.generators.builtin.media.scene_canvas import Canvas, Point, ellipse, polygon, rect, stencil

WARM_WINDOW: Colour = (1.0, 0.82, 0.5)
PAPER: Colour = (1.0, 0.88, 0.66)


def _window_colours(canvas: Canvas, lit: np.ndarray) -> np.ndarray:
    """A colour per window: warm light, and the palette's neon accents for a neon palette."""
    choices = [WARM_WINDOW, scale(WARM_WINDOW, 0.8)]
    if canvas.analysis.palette == "neon":
        choices += list(canvas.palette.accents) * 2
    picks = canvas.rng.integers(0, len(choices), lit.shape)
    return np.asarray(choices, np.float32)[picks]


def windows(canvas: Canvas, x0: int, y0: int, width: int, height: int, light: float) -> None:
    """A grid of windows on a building face, a fraction ``light`` of them lit."""
    unit = canvas.unit
    cell_w, cell_h = max(3, round(14 * unit)), max(4, round(20 * unit))
    cols, rows = max(1, (width - cell_w // 2) // cell_w), max(1, (height - cell_h) // cell_h)
    lit = canvas.rng.random((rows, cols)) < light
    colours = _window_colours(canvas, lit) * lit[..., None]
    cell = np.zeros((cell_h, cell_w), np.float32)
    cell[cell_h // 4: cell_h // 4 + max(2, cell_h // 2), cell_w // 4: cell_w // 4 + max(2, cell_w // 2)] = 1.0
    mask = np.tile(cell, (rows, cols)) * np.repeat(np.repeat(lit, cell_h, 0), cell_w, 1)
    colour = np.repeat(np.repeat(colours, cell_h, 0), cell_w, 1)
    top, left = y0 + cell_h // 2, x0 + (width - cols * cell_w) // 2
    canvas.paint(mask, colour, top, left, opacity=0.9)
    canvas.add_glow(mask, colour, top, left, strength=0.35)


def neon_sign(canvas: Canvas, x: float, y: float, colour: Colour) -> None:
    """A glowing vertical sign with a few bright bars."""
    unit, rng = canvas.unit, canvas.rng
    width, height = rng.uniform(10, 18) * unit, rng.uniform(60, 150) * unit
    rect(canvas, x, y, x + width, y + height, scale(colour, 0.35))
    for bar in range(int(height // (14 * unit))):
        top = y + (4 + bar * 14) * unit
        rect(canvas, x + 2 * unit, top, x + width - 2 * unit, top + 8 * unit, colour, glow=1.6)


def skyline(canvas: Canvas, depth: float, light: float, tallest: float) -> None:
    """A row of buildings at ``depth`` with windows and, for neon palettes, signs."""
    rng, unit = canvas.rng, canvas.unit
    x = -rng.uniform(0, 40) * unit
    base = canvas.horizon + 2
    while x < canvas.width:
        width = rng.uniform(70, 190) * unit * (1.0 - 0.35 * depth)
        height = canvas.horizon * tallest * rng.uniform(0.35, 1.0)
        top = base - height
        body = scale(canvas.palette.far(depth), rng.uniform(0.85, 1.1))
        rect(canvas, x, top, x + width, base, body)
        if rng.random() < 0.3:
            rect(canvas, x + width * 0.45, top - 40 * unit, x + width * 0.45 + 3 * unit, top, body)
        windows(canvas, round(x), round(top), round(width), round(height), light * (1.0 - 0.5 * depth))
        if canvas.analysis.palette == "neon" and rng.random() < 0.45:
            sign_colour = canvas.palette.accents[int(rng.integers(0, 2))]
            neon_sign(canvas, x + width * rng.uniform(0.05, 0.7), top + height * rng.uniform(0.1, 0.4), sign_colour)
        x += width + rng.uniform(0, 18) * unit


def _roof(canvas: Canvas, cx: float, eave_y: float, top_y: float, half: float, colour: Colour,
          trim: Colour | None) -> None:
    """A curved, upturned Japanese roof between ``top_y`` and ``eave_y``."""
    upturn = (eave_y - top_y) * 0.35
    us = np.linspace(-1.0, 1.0, 41)
    bottom: list[Point] = [(cx + u * half, eave_y - upturn * abs(u) ** 4) for u in us]
    top: list[Point] = [(cx + half * 0.62, top_y), (cx - half * 0.62, top_y)]
    polygon(canvas, bottom + top, colour)
    if trim is not None:
        mask, y0, x0 = stencil(bottom, lambda d, p: d.line(p, fill=255, width=max(2, round(10 * canvas.unit))))
        canvas.paint(mask, trim, y0, x0)
        canvas.add_glow(mask, trim, y0, x0, 1.4)


def _hall(canvas: Canvas, cx: float, floor: float, width: float, height: float, wood: Colour) -> None:
    """Walls of one storey: pillars and lit paper screens between them."""
    rect(canvas, cx - width / 2, floor - height, cx + width / 2, floor, scale(wood, 0.8))
    bays = 5
    pillar = width * 0.035
    for bay in range(bays):
        left = cx - width / 2 + bay * width / bays + pillar
        right = left + width / bays - pillar
        rect(canvas, left, floor - height * 0.88, right, floor - height * 0.08, scale(PAPER, 0.85),
             opacity=0.7, glow=0.15)
        for line in range(1, 4):  # the screens' lattice
            x = left + (right - left) * line / 4
            rect(canvas, x - canvas.unit, floor - height * 0.88, x + canvas.unit, floor - height * 0.08, wood)
    for bay in range(bays + 1):
        x = cx - width / 2 + bay * width / bays
        rect(canvas, x - pillar / 2, floor - height, x + pillar / 2, floor, scale(wood, 0.55))


def dojo(canvas: Canvas) -> None:
    """A two-storey dojo hall on a stone base, with lanterns; neon trim for neon palettes."""
    width = canvas.width * 0.46
    cx = canvas.width * canvas.rng.uniform(0.4, 0.6)
    floor = canvas.horizon + (canvas.height - canvas.horizon) * 0.12
    stone = mix((0.45, 0.44, 0.42), canvas.palette.ground_far, 0.5)
    wood = mix((0.32, 0.17, 0.1), canvas.palette.structure, 0.4)
    roof = scale(canvas.palette.structure, 0.7)
    trim = canvas.palette.accents[0] if canvas.analysis.palette == "neon" else None
    unit_h = canvas.height * 0.1
    rect(canvas, cx - width * 0.55, floor - unit_h * 0.3, cx + width * 0.55, floor + unit_h * 0.05, stone)
    _hall(canvas, cx, floor - unit_h * 0.3, width, unit_h * 1.5, wood)
    _roof(canvas, cx, floor - unit_h * 1.75, floor - unit_h * 2.5, width * 0.68, roof, trim)
    _hall(canvas, cx, floor - unit_h * 2.45, width * 0.55, unit_h * 0.9, wood)
    _roof(canvas, cx, floor - unit_h * 3.3, floor - unit_h * 4.1, width * 0.42, roof, trim)
    rect(canvas, cx - width * 0.2, floor - unit_h * 4.2, cx + width * 0.2, floor - unit_h * 4.05, roof)
    lantern = canvas.palette.accents[1] if trim else (1.0, 0.45, 0.2)
    for side in (-1, 1):
        x = cx + side * width * 0.42
        rect(canvas, x - canvas.unit, floor - unit_h * 1.75, x + canvas.unit, floor - unit_h * 1.3, wood)
        ellipse(canvas, x, floor - unit_h * 1.15, unit_h * 0.13, unit_h * 0.2, lantern, glow=2.0)
    canvas.notes["ground_top"] = float(floor)


def banners(canvas: Canvas, count: int) -> None:
    """Battlefield: war banners on poles at mid distance."""
    rng, unit = canvas.rng, canvas.unit
    cloth = mix(canvas.palette.accents[0], (0.08, 0.05, 0.04), 0.65)
    for _ in range(count):
        x = rng.uniform(0.03, 0.97) * canvas.width
        base = canvas.horizon + rng.uniform(0.0, 0.12) * (canvas.height - canvas.horizon)
        height = rng.uniform(120, 220) * unit * (1 + (base - canvas.horizon) / canvas.height)
        pole = scale(canvas.palette.structure, 0.6)
        rect(canvas, x - 2 * unit, base - height, x + 2 * unit, base, pole)
        side = rng.choice([-1.0, 1.0])
        flag_w, flag_h = height * 0.28, height * 0.32
        polygon(canvas, [(x, base - height), (x + side * flag_w, base - height + flag_h * 0.15),
                         (x + side * flag_w * 0.8, base - height + flag_h * 0.55),
                         (x + side * flag_w, base - height + flag_h), (x, base - height + flag_h * 0.9)], cloth)


def fires(canvas: Canvas, count: int) -> None:
    """Battlefield: distant fires on the horizon, glowing."""
    rng = canvas.rng
    for _ in range(count):
        x = rng.uniform(0, canvas.width)
        size = rng.uniform(6, 16) * canvas.unit
        ellipse(canvas, x, canvas.horizon - size * 0.2, size, size * 0.6, (1.0, 0.55, 0.15), glow=2.5)


def _frond(crown: Point, angle: float, length: float, droop: float) -> list[Point]:
    """A palm leaf: a tapering band along a drooping arc from the crown."""
    ts = np.linspace(0.0, 1.0, 12)
    spine = [(crown[0] + np.cos(angle) * length * t, crown[1] + np.sin(angle) * length * t + droop * t * t)
             for t in ts]
    width = [length * 0.09 * np.sin(np.pi * min(1.0, t * 1.2 + 0.05)) for t in ts]
    upper = [(x, y - w) for (x, y), w in zip(spine, width, strict=True)]
    lower = [(x, y + w) for (x, y), w in zip(spine, width, strict=True)]
    return upper + lower[::-1]


def palm(canvas: Canvas, x: float, base_y: float, height: float, colour: Colour) -> None:
    """Beach: a leaning palm tree silhouette."""
    lean = height * 0.18 * canvas.rng.choice([-1.0, 1.0])
    ts = np.linspace(0.0, 1.0, 20)
    spine = [(x + lean * t * t, base_y - height * t) for t in ts]
    width = max(3, round(height * 0.03))
    mask, y0, x0 = stencil(spine, lambda d, p: d.line(p, fill=255, width=width, joint="curve"))
    canvas.paint(mask, colour, y0, x0)
    crown = spine[-1]
    for angle in (-2.9, -2.4, -1.9, -1.25, -0.7, -0.2, 0.35, 2.8):
        polygon(canvas, _frond(crown, angle, height * 0.36, height * 0.16), colour)
