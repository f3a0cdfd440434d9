"""The ground: a lit gradient with a texture in perspective, and wet reflections.

Textures are brightness maps over the ground rows, one function per kind of ground
(:data:`GROUND_TEXTURE` picks it by setting), built from the perspective coordinates of
each pixel: ``depth`` grows towards the horizon, ``across`` is the sideways position on
the ground plane.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from montage.generators.builtin.media.noise import field, soft_blur
from montage.generators.builtin.media.palette import as_array
from montage.generators.builtin.media.scene_canvas import Canvas, vertical_gradient


def _plane(canvas: Canvas, top: int) -> tuple[np.ndarray, np.ndarray]:
    """(depth, across) of the ground plane for rows ``top``…bottom (camera at the horizon)."""
    rows = np.arange(top, canvas.height, dtype=np.float32)[:, None] - canvas.horizon + 6.0
    depth = canvas.height * 0.25 / rows
    across = (np.arange(canvas.width, dtype=np.float32)[None, :] - canvas.width / 2) / rows
    return depth, across


def _lines(coordinate: np.ndarray, spacing: float, width: float | np.ndarray) -> np.ndarray:
    """1 near every multiple of ``spacing`` of ``coordinate`` (line ``width`` in units), else 0."""
    distance = np.abs((coordinate / spacing + 0.5) % 1.0 - 0.5) * spacing
    return np.clip(1.0 - distance / width, 0.0, 1.0)


def tiles(canvas: Canvas, top: int) -> np.ndarray:
    """Dojo courtyard: square stone tiles with joints and slight per-tile variation."""
    depth, across = _plane(canvas, top)
    joints = np.maximum(_lines(depth * 4.0, 1.0, 0.06 * np.minimum(1.0, 1.0 / depth)), _lines(across, 1.0, 0.04))
    tile_id = np.floor(depth * 4.0) * 31 + np.floor(across + 0.5) * 17
    variation = 0.9 + 0.2 * ((np.sin(tile_id * 12.9898) * 43758.5453) % 1.0)
    return variation * (1.0 - 0.45 * joints)


def street(canvas: Canvas, top: int) -> np.ndarray:
    """City: asphalt with converging lane lines and dashed centre markings."""
    depth, across = _plane(canvas, top)
    grit = 0.85 + 0.3 * field(canvas.height - top, canvas.width, canvas.rng, cell=6, octaves=2)
    lanes = _lines(across, 3.0, 0.05) * (np.abs(across) < 7.0)
    dashes = _lines(across, 100.0, 0.05) * (((depth * 3.0) % 1.0) < 0.5)
    return grit * (1.0 + 0.9 * np.maximum(lanes, dashes))


def grass(canvas: Canvas, top: int) -> np.ndarray:
    """Grass and earth: patchy noise, stretched by perspective."""
    rows = canvas.height - top
    patches = field(rows, canvas.width, canvas.rng, cell=max(4, round(90 * canvas.unit)), octaves=4)
    blades = field(rows, canvas.width, canvas.rng, cell=3, octaves=1)
    return 0.75 + 0.4 * patches + 0.15 * (blades - 0.5)


def sand(canvas: Canvas, top: int) -> np.ndarray:
    """Sand: wind ripples in perspective."""
    depth, across = _plane(canvas, top)
    wobble = field(canvas.height - top, canvas.width, canvas.rng, cell=max(4, round(120 * canvas.unit)))
    return 0.92 + 0.08 * np.sin(depth * 60.0 + wobble * 6.0 + across * 0.3)


def regolith(canvas: Canvas, top: int) -> np.ndarray:
    """Rock and dust: coarse noise."""
    noise = field(canvas.height - top, canvas.width, canvas.rng, cell=max(4, round(60 * canvas.unit)), octaves=5)
    return 0.7 + 0.6 * noise


GROUND_TEXTURE: dict[str, Callable[[Canvas, int], np.ndarray]] = {
    "dojo": tiles, "city": street, "forest": grass, "plains": grass, "battlefield": grass,
    "desert": sand, "beach": sand, "mountains": regolith, "space": regolith,
}


def paint_ground(canvas: Canvas) -> None:
    """Ground from the horizon (or the shore) down: lit gradient × texture, a dusting of snow."""
    top = round(canvas.notes.get("ground_top", canvas.horizon)) if canvas.analysis.setting == "beach" \
        else canvas.horizon
    rows = canvas.height - top
    gradient = vertical_gradient(rows, canvas.palette.ground_far, canvas.palette.ground_near, power=0.6)
    texture = GROUND_TEXTURE[canvas.analysis.setting](canvas, top)
    if canvas.analysis.weather == "snow":
        texture = 1.0 + (texture - 1.0) * 0.3
    canvas.rgb[top:] = gradient * texture[..., None]
    # light falling on the ground from the sun's direction
    sun_x = canvas.notes.get("sun_x", canvas.width / 2)
    xs = np.arange(canvas.width, dtype=np.float32)
    warm = np.exp(-((xs - sun_x) / (canvas.width * 0.35)) ** 2)[None, :] * np.linspace(
        0.25, 0.0, rows, dtype=np.float32)[:, None] * canvas.palette.light
    canvas.rgb[top:] += warm[..., None] * as_array(canvas.palette.sun) * 0.5


def wet_reflection(canvas: Canvas) -> None:
    """Rain: mirror what stands on the ground into it, rippled and blurred."""
    analysis = canvas.analysis
    if analysis.weather != "rain":
        return
    axis = round(canvas.notes.get("ground_top", canvas.horizon))
    rows = min(canvas.height - axis, axis)
    strength = 0.25 + 0.4 * analysis.weather_intensity
    ys = np.arange(rows)
    shift = (np.sin(ys * 0.9) * 2.0 * canvas.unit + np.sin(ys * 0.23) * 3.0 * canvas.unit).astype(int)
    source = canvas.rgb[axis - 1 - ys] + canvas.glow[axis - 1 - ys] * 0.6
    xs = np.clip(np.arange(canvas.width)[None, :] + shift[:, None], 0, canvas.width - 1)
    mirrored = soft_blur(np.take_along_axis(source, xs[..., None], axis=1), 2, 2.0)
    fade = np.linspace(1.0, 0.2, rows, dtype=np.float32)[:, None]
    puddles = 0.55 + 0.45 * field(rows, canvas.width, canvas.rng, cell=max(4, round(80 * canvas.unit)))
    weight = (fade * puddles * strength)[..., None]
    region = canvas.rgb[axis:axis + rows]
    region += (mirrored - region) * weight
