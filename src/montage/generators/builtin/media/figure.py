"""Putting a BVH skeleton on screen: projection, camera follow, and drawing one frame.

The camera looks at the figure from its front-right (:data:`CAMERA_YAW`), so a figure
walking along +Z travels to the right of the frame; it pans only when the figure leaves
the middle :data:`DEAD_ZONE` of the frame, so short steps do not move the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from montage.generators.builtin.media.bvh import Bvh, forward_kinematics

CAMERA_YAW = -62.0
#: A standing figure is this fraction of the frame height tall.
FIGURE_HEIGHT = 0.42
STANDING_HEIGHT_CM = 175.0
#: Half-width of the region (fraction of frame width) the figure may move in before the camera pans.
DEAD_ZONE = 0.22
#: Figures on frames up to this height are drawn at twice the size and reduced (anti-aliased);
#: taller frames have enough pixels per bone that drawing at 1× looks the same and costs a quarter.
SUPERSAMPLE_MAX_HEIGHT = 720


@dataclass
class ProjectedFigure:
    """Screen positions of every joint and end site per video frame, and the bones between them."""

    names: list[str]
    points: np.ndarray  # frames × points × 2 (pixels)
    near: np.ndarray  # frames × points, True for points on the camera's side
    bones: list[tuple[int, int]]
    floor_y: float
    scale: float  # pixels per centimetre
    frame_height: int


def _bones(bvh: Bvh, names: list[str]) -> list[tuple[int, int]]:
    index = {name: i for i, name in enumerate(names)}
    bones = [(index[bvh.joints[j.parent].name], index[j.name]) for j in bvh.joints if j.parent is not None]
    bones += [(index[j.name], index[f"{j.name}_end"]) for j in bvh.joints if j.end_site is not None]
    return bones


def _sample(positions: np.ndarray, frame_time: float, frames: int, fps: float) -> np.ndarray:
    """Positions at the video's frame times, linearly interpolated between BVH frames."""
    source = np.arange(frames, dtype=np.float64) / fps / frame_time
    source = np.clip(source, 0, positions.shape[0] - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, positions.shape[0] - 1)
    frac = (source - low)[:, None, None]
    return positions[low] * (1 - frac) + positions[high] * frac


def _follow(root_x: np.ndarray, zone: float) -> np.ndarray:
    """Camera x per frame: moves only as far as needed to keep ``root_x`` within ±``zone``."""
    camera = np.empty_like(root_x)
    current = float(root_x[0]) if root_x.size else 0.0
    for i, x in enumerate(root_x):
        current = min(max(current, x - zone), x + zone)
        camera[i] = current
    return camera


def project(bvh: Bvh, width: int, height: int, floor_frac: float, frames: int, fps: float) -> ProjectedFigure:
    """Project the BVH motion onto a ``width``×``height`` frame, ``frames`` frames at ``fps``."""
    names, world = forward_kinematics(bvh)
    if world.shape[0] == 0:
        world = np.zeros((1, len(names), 3))
    world = _sample(world, bvh.frame_time, frames, fps)
    yaw = np.radians(CAMERA_YAW)
    right = np.asarray([np.cos(yaw), 0.0, -np.sin(yaw)])
    toward_camera = np.asarray([np.sin(yaw), 0.0, np.cos(yaw)])
    scale = height * FIGURE_HEIGHT / STANDING_HEIGHT_CM
    across = world @ right
    depth = world @ toward_camera
    camera = _follow(across[:, 0], width * DEAD_ZONE / scale)
    floor_y = height * floor_frac
    points = np.stack([width / 2 + (across - camera[:, None]) * scale, floor_y - world[..., 1] * scale], axis=-1)
    near = depth >= depth[:, :1]
    return ProjectedFigure(names, points, near, _bones(bvh, names), floor_y, scale, height)


@dataclass(frozen=True)
class FigureStyle:
    """Colours of the drawn skeleton."""

    near: tuple[int, int, int]
    far: tuple[int, int, int]
    outline: tuple[int, int, int] = (12, 12, 18)


def figure_box(fig: ProjectedFigure, frame: int, width: int, height: int) -> tuple[int, int, int, int]:
    """Even-aligned (x0, y0, x1, y1) that holds the figure and its shadow in ``frame``."""
    pts = fig.points[frame]
    margin = fig.scale * 22
    x0 = int(max(0, np.floor(pts[:, 0].min() - margin))) // 2 * 2
    y0 = int(max(0, np.floor(pts[:, 1].min() - margin))) // 2 * 2
    x1 = min(width, (int(np.ceil(pts[:, 0].max() + margin)) + 1) // 2 * 2)
    y1 = min(height, (int(np.ceil(max(pts[:, 1].max(), fig.floor_y) + margin)) + 1) // 2 * 2)
    return x0, y0, max(x0, x1), max(y0, y1)


def draw_figure(crop: np.ndarray, fig: ProjectedFigure, frame: int, origin: tuple[int, int],
                style: FigureStyle) -> np.ndarray:
    """Draw the skeleton of ``frame`` over ``crop`` (whose top-left is ``origin``); returns new pixels."""
    k = 2 if fig.frame_height <= SUPERSAMPLE_MAX_HEIGHT else 1
    image = Image.fromarray(crop)
    if k > 1:
        image = image.resize((crop.shape[1] * k, crop.shape[0] * k), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image, "RGBA")
    pts = (fig.points[frame] - np.asarray(origin, dtype=np.float64)) * k
    unit = fig.scale * k
    hips = pts[0]
    floor = (fig.floor_y - origin[1]) * k
    airborne = max(0.0, floor - hips[1] - 94.0 * unit) / (200.0 * unit)
    spread = unit * 30.0 * max(0.4, 1.0 - airborne)
    draw.ellipse([hips[0] - spread, floor - spread * 0.18, hips[0] + spread, floor + spread * 0.18],
                 fill=(0, 0, 0, 90))
    near = fig.near[frame]
    order = sorted(fig.bones, key=lambda bone: bool(near[bone[1]]))
    width = max(2, round(unit * 4.2))
    for a, b in order:
        line = [tuple(pts[a]), tuple(pts[b])]
        draw.line(line, fill=style.outline, width=width + max(2, round(unit * 1.6)))
        draw.line(line, fill=style.near if near[b] else style.far, width=width)
    for i, name in enumerate(fig.names):
        if name.endswith("_end") or name in ("Hips", "Spine"):
            continue
        r = unit * 2.6
        draw.ellipse([pts[i][0] - r, pts[i][1] - r, pts[i][0] + r, pts[i][1] + r], fill=style.outline)
    _draw_head(draw, fig, pts, unit, style)
    return np.asarray(image.reduce(k) if k > 1 else image)


def _draw_head(draw: ImageDraw.ImageDraw, fig: ProjectedFigure, pts: np.ndarray, unit: float,
               style: FigureStyle) -> None:
    if "Head" not in fig.names or "Head_end" not in fig.names:
        return
    head, top = pts[fig.names.index("Head")], pts[fig.names.index("Head_end")]
    centre = (head + top) / 2 + (top - head) * 0.1
    r = unit * 11
    draw.ellipse([centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r], fill=style.near,
                 outline=style.outline, width=max(2, round(unit * 1.6)))
