"""The picture a scene is painted on, and the few primitives every layer uses.

The canvas is a float32 H×W×3 array in 0–1 plus a ``glow`` array of the same shape where
light sources (windows, neon, lanterns, the sun) add light; :func:`~.scene_grade.bloom`
later blurs it back in. Shapes are painted with an 8-bit mask drawn at twice the size of
their bounding box and reduced, so edges are anti-aliased.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from montage.generators.builtin.media.palette import Colour, ScenePalette, as_array
from montage.generators.builtin.media.prompt import PromptAnalysis

Point = tuple[float, float]
SUPERSAMPLE = 2


@dataclass
class Canvas:
    """A scene being painted: pixels, glow, geometry and the random stream."""

    rgb: np.ndarray
    glow: np.ndarray
    horizon: int
    palette: ScenePalette
    analysis: PromptAnalysis
    rng: np.random.Generator
    notes: dict[str, float] = field(default_factory=dict)

    @classmethod
    def blank(cls, width: int, height: int, horizon_frac: float, palette: ScenePalette,
              analysis: PromptAnalysis, rng: np.random.Generator) -> Canvas:
        """An empty canvas of ``width``×``height`` with the horizon at ``horizon_frac`` of the height."""
        return cls(rgb=np.zeros((height, width, 3), np.float32), glow=np.zeros((height, width, 3), np.float32),
                   horizon=round(height * horizon_frac), palette=palette, analysis=analysis, rng=rng)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def unit(self) -> float:
        """Pixels per "design pixel": shapes are designed for 1080 rows and scaled by this."""
        return self.height / 1080.0

    def paint(self, mask: np.ndarray, colour: Colour | np.ndarray, top: int = 0, left: int = 0,
              opacity: float = 1.0) -> None:
        """Blend ``colour`` over the region at (top, left) through ``mask`` (0–1, H'×W' or H'×W'×3).

        ``colour`` is one colour or an array laid out like ``mask`` (H'×W'×3, or 1×W'×3, H'×1×3).
        """
        window = self._window(mask.shape[:2], top, left)
        if window is None:
            return
        region, inner = window
        sub = mask[inner]
        alpha = (sub if sub.ndim == 3 else sub[..., None]) * opacity
        target = self.rgb[region]
        target += (_clip_colour(colour, inner) - target) * alpha

    def add_glow(self, mask: np.ndarray, colour: Colour | np.ndarray, top: int = 0, left: int = 0,
                 strength: float = 1.0) -> None:
        """Add light of ``colour`` (laid out as for :meth:`paint`) through ``mask`` to the glow buffer."""
        window = self._window(mask.shape[:2], top, left)
        if window is not None:
            region, inner = window
            self.glow[region] += mask[inner][..., None] * _clip_colour(colour, inner) * strength

    def _window(self, shape: tuple[int, ...], top: int, left: int
                ) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
        """(canvas slices, mask slices) of the part of a shape at (top, left) that is on the canvas."""
        y0, x0 = max(0, top), max(0, left)
        y1, x1 = min(self.height, top + shape[0]), min(self.width, left + shape[1])
        if y0 >= y1 or x0 >= x1:
            return None
        return (slice(y0, y1), slice(x0, x1)), (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))


def _clip_colour(colour: Colour | np.ndarray, inner: tuple[slice, slice]) -> np.ndarray:
    """``colour`` as an array, cut like the mask when it is laid out like one."""
    paint = np.asarray(colour, np.float32)
    if paint.ndim == 3:
        cut = tuple(part if size > 1 else slice(None) for part, size in zip(inner, paint.shape[:2], strict=True))
        paint = paint[cut]
    return paint


def stencil(points: Sequence[Point], draw: Callable[[ImageDraw.ImageDraw, list[Point]], None]
            ) -> tuple[np.ndarray, int, int]:
    """An anti-aliased mask of a shape: ``draw`` gets a supersampled draw and shifted points.

    Returns (mask 0–1, top, left) of the shape's bounding box.
    """
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    left, top = int(np.floor(min(xs))) - 1, int(np.floor(min(ys))) - 1
    width, height = int(np.ceil(max(xs))) - left + 2, int(np.ceil(max(ys))) - top + 2
    image = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    shifted = [((x - left) * SUPERSAMPLE, (y - top) * SUPERSAMPLE) for x, y in points]
    draw(ImageDraw.Draw(image), shifted)
    mask = np.asarray(image.reduce(SUPERSAMPLE), dtype=np.float32) / 255.0
    return mask, top, left


def polygon(canvas: Canvas, points: Sequence[Point], colour: Colour, opacity: float = 1.0) -> None:
    """Paint a filled polygon."""
    mask, top, left = stencil(points, lambda d, p: d.polygon(p, fill=255))
    canvas.paint(mask, colour, top, left, opacity)


def ellipse(canvas: Canvas, cx: float, cy: float, rx: float, ry: float, colour: Colour,
            opacity: float = 1.0, glow: float = 0.0) -> None:
    """Paint a filled ellipse; ``glow`` > 0 also adds it to the glow buffer."""
    box = [(cx - rx, cy - ry), (cx + rx, cy + ry)]
    mask, top, left = stencil(box, lambda d, p: d.ellipse([p[0], p[1]], fill=255))
    canvas.paint(mask, colour, top, left, opacity)
    if glow > 0:
        canvas.add_glow(mask, colour, top, left, glow)


def rect(canvas: Canvas, x0: float, y0: float, x1: float, y1: float, colour: Colour,
         opacity: float = 1.0, glow: float = 0.0) -> None:
    """Paint an axis-aligned rectangle (pixel-snapped)."""
    top, left = round(y0), round(x0)
    mask = np.ones((max(0, round(y1) - top), max(0, round(x1) - left)), np.float32)
    if mask.size:
        canvas.paint(mask, colour, top, left, opacity)
        if glow > 0:
            canvas.add_glow(mask, colour, top, left, glow)


def fill_below(canvas: Canvas, edge: np.ndarray, colour: Colour | np.ndarray, bottom: int,
               opacity: float = 1.0) -> None:
    """Paint every column from the row ``edge[x]`` (float, anti-aliased) down to ``bottom``."""
    top = max(0, int(np.floor(edge.min())))
    if top >= bottom:
        return
    rows = np.arange(top, bottom, dtype=np.float32)[:, None]
    mask = np.clip(rows - edge[None, :] + 0.5, 0.0, 1.0)
    canvas.paint(mask, colour, top, 0, opacity)


def vertical_gradient(height: int, top: Colour, bottom: Colour, power: float = 1.0) -> np.ndarray:
    """A (height, 1, 3) column going from ``top`` to ``bottom``."""
    t = np.linspace(0.0, 1.0, max(1, height), dtype=np.float32) ** power
    return (as_array(top)[None, :] * (1 - t[:, None]) + as_array(bottom)[None, :] * t[:, None])[:, None, :]
