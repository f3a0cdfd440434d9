"""Natural layers: mountain ranges, hills, dunes, trees, the sea, rocks."""

from __future__ import annotations

import numpy as np

from montage.generators.builtin.media.noise import ridge
from montage.generators.builtin.media.palette import Colour, as_array, mix, scale
from montage.generators.builtin.media.scene_canvas import Canvas, ellipse, fill_below, polygon


def mountain_range(canvas: Canvas, depth: float, height_frac: float, period: float,
                   snow: bool = False, sharp: bool = True) -> np.ndarray:
    """A ridge of mountains ending at the horizon; returns the ridge line (row per column)."""
    unit = canvas.unit
    noise = ridge(canvas.width, canvas.rng, period * unit, octaves=6)
    if sharp:  # folded noise gives peaks instead of blobs
        noise = 1.0 - 2.0 * np.abs(noise)
    peak = canvas.horizon * height_frac
    edge = canvas.horizon - peak * (0.55 + 0.45 * noise)
    colour = canvas.palette.far(depth)
    shade = np.linspace(0.0, 1.0, canvas.width, dtype=np.float32)
    fill_below(canvas, edge, colour, canvas.horizon + 2)
    # light on one flank: a gentle horizontal shading of the range
    light = mix(colour, canvas.palette.sky_horizon, 0.25)
    top = int(edge.min())
    rows = np.arange(top, canvas.horizon, dtype=np.float32)[:, None]
    flank = np.clip(rows - edge[None, :], 0.0, 1.0) * (0.3 * shade[None, :] * (1.0 - depth))
    canvas.paint(flank, light, top, 0)
    if snow:  # white above a ragged snow line, so only the high peaks get caps
        line = canvas.horizon - peak * (0.72 + 0.08 * ridge(canvas.width, canvas.rng, 40 * unit, octaves=3))
        rows_mask = np.clip(rows - edge[None, :], 0.0, 1.0) * np.clip(line[None, :] - rows, 0.0, 1.0)
        canvas.paint(rows_mask, mix((0.95, 0.96, 1.0), canvas.palette.sky_horizon, depth * 0.5), top, 0)
    return edge


def hills(canvas: Canvas, depth: float, rise_frac: float, period: float, colour: Colour) -> None:
    """Rolling hills that rise ``rise_frac`` of the horizon height and run down to the horizon."""
    noise = ridge(canvas.width, canvas.rng, period * canvas.unit, octaves=3)
    edge = canvas.horizon - canvas.horizon * rise_frac * (0.5 + 0.5 * noise)
    fill_below(canvas, edge, mix(colour, canvas.palette.sky_horizon, depth * 0.6), canvas.horizon + 2)


def dunes(canvas: Canvas) -> None:
    """Desert: three ranks of smooth dunes, each with a lit and a shaded face."""
    sand_far, sand_near = canvas.palette.ground_far, canvas.palette.ground_near
    for rank, depth in enumerate((0.8, 0.5, 0.2)):
        noise = ridge(canvas.width, canvas.rng, 520 * canvas.unit, octaves=2)
        edge = canvas.horizon - canvas.horizon * (0.05 + 0.05 * rank) * (0.6 + 0.4 * noise)
        base = mix(mix(sand_far, sand_near, rank / 2), canvas.palette.sky_horizon, depth * 0.5)
        fill_below(canvas, edge, base, canvas.horizon + 2)
        slope = np.gradient(edge)
        lit = np.clip(-slope * 3.0, 0.0, 1.0).astype(np.float32)
        rows = np.arange(int(edge.min()), canvas.horizon, dtype=np.float32)[:, None]
        band = np.clip(rows - edge[None, :], 0.0, 1.0) * lit[None, :] * 0.35
        canvas.paint(band, scale(base, 1.25), int(edge.min()), 0)


def conifer(canvas: Canvas, x: float, base_y: float, height: float, colour: Colour) -> None:
    """A pine: a trunk and three stacked triangles."""
    width = height * 0.42
    for tier in range(3):
        top = base_y - height * (1.0 - 0.22 * tier)
        bottom = base_y - height * (0.42 - 0.2 * tier) + height * 0.05
        half = width * (0.55 + 0.22 * tier) / 2
        polygon(canvas, [(x, top), (x + half, bottom), (x - half, bottom)], colour)
    polygon(canvas, [(x - width * 0.05, base_y - height * 0.2), (x + width * 0.05, base_y - height * 0.2),
                     (x + width * 0.06, base_y), (x - width * 0.06, base_y)], scale(colour, 0.8))


def round_tree(canvas: Canvas, x: float, base_y: float, height: float, colour: Colour) -> None:
    """A broadleaf tree: a trunk and a cluster of canopy blobs."""
    trunk = height * 0.05
    polygon(canvas, [(x - trunk, base_y), (x + trunk, base_y), (x + trunk * 0.6, base_y - height * 0.55),
                     (x - trunk * 0.6, base_y - height * 0.55)], scale(colour, 0.7))
    radius = height * 0.28
    for dx, dy, r in ((0, 0.72, 1.0), (-0.6, 0.58, 0.75), (0.6, 0.6, 0.8), (0.1, 0.88, 0.7)):
        ellipse(canvas, x + dx * radius, base_y - height * dy, radius * r, radius * r * 0.9, colour)


def tree_line(canvas: Canvas, depth: float, count: int, base_y: float, height: float,
              kind: str = "conifer") -> None:
    """A row of trees at one depth, faded towards the horizon colour by ``depth``."""
    draw = conifer if kind == "conifer" else round_tree
    colour = canvas.palette.far(depth)
    xs = np.sort(canvas.rng.uniform(-0.05, 1.05, count)) * canvas.width
    for x in xs:
        size = height * canvas.rng.uniform(0.7, 1.25)
        draw(canvas, float(x), base_y + canvas.rng.uniform(-0.01, 0.01) * canvas.height, size, colour)


def sea(canvas: Canvas, shore_frac: float) -> None:
    """Beach: water from the horizon to the shore, with sun glitter and wave lines."""
    shore = round(canvas.horizon + (canvas.height - canvas.horizon) * shore_frac)
    rows = shore - canvas.horizon
    palette = canvas.palette
    deep = mix(palette.sky_top, (0.05, 0.25, 0.35), 0.5)
    t = np.linspace(0.0, 1.0, rows, dtype=np.float32)[:, None, None]
    water = as_array(mix(palette.sky_horizon, deep, 0.4)) * (1 - t) + as_array(deep) * t
    canvas.rgb[canvas.horizon:shore] = water
    sun_x = canvas.notes.get("sun_x", canvas.width / 2)
    rng = canvas.rng
    for _ in range(int(260 * canvas.unit) + 60):
        y = canvas.horizon + rows * rng.random() ** 1.5
        spread = 40 + (y - canvas.horizon) * 1.2
        x = sun_x + rng.normal(0, spread)
        length = rng.uniform(6, 30) * (1 + (y - canvas.horizon) / max(rows, 1))
        ellipse(canvas, x, y, length, 1.2 * canvas.unit, palette.sun, opacity=rng.uniform(0.2, 0.7))
    foam = np.clip(1.0 - np.abs(np.arange(rows, dtype=np.float32) - rows + 4) / 4, 0, 1)[:, None]
    canvas.paint(np.repeat(foam, canvas.width, axis=1), (0.92, 0.95, 0.97), canvas.horizon, 0, 0.8)
    canvas.notes["ground_top"] = float(shore)


def rocks(canvas: Canvas, count: int, y_from: float, y_to: float, colour: Colour) -> None:
    """Scattered boulders on the ground, bigger nearer the bottom."""
    rng = canvas.rng
    for _ in range(count):
        y = rng.uniform(y_from, y_to)
        near = (y - canvas.horizon) / max(1.0, canvas.height - canvas.horizon)
        size = canvas.unit * (8 + 60 * near) * rng.uniform(0.6, 1.4)
        x = rng.uniform(0, canvas.width)
        points = [(x + size * np.cos(a) * rng.uniform(0.7, 1.1), y - size * 0.6 * max(0.0, np.sin(a))
                   * rng.uniform(0.7, 1.2)) for a in np.linspace(0, np.pi, 7)]
        polygon(canvas, points, scale(colour, 0.7 + 0.3 * near))
        polygon(canvas, [*points[3:], (x, y)], scale(colour, 1.15), opacity=0.5)
