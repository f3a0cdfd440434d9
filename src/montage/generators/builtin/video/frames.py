"""First and last frame pictures: fitted to the frame, slowly zoomed, and crossfaded.

Given a first frame the video starts exactly on it and the camera pushes in slowly; given a
last frame the video ends exactly on it (its zoom settles to none on the final frame);
given both, the first dissolves into the last over the middle of the clip. A last frame
alone ends a generated scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import av
import numpy as np
from PIL import Image, ImageOps

from montage.generators.builtin.video.camera import ease
from montage.generators.builtin.video.compositor import KenBurns, LayerVideo, Planes, blend
from montage.generators.builtin.video.layers import planar_layer


class FrameSource(Protocol):
    def frame(self, t: float) -> av.VideoFrame:
        """The frame at ``t`` (0 first … 1 last)."""
        ...


def fit_picture(image: Image.Image, width: int, height: int) -> np.ndarray:
    """``image`` scaled to cover ``width``×``height`` and cropped to it, as 8-bit RGB."""
    picture = ImageOps.exif_transpose(image).convert("RGB")
    fitted = ImageOps.fit(picture, (width, height), Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    return np.asarray(fitted)


def picture_video(rgb: np.ndarray, zoom_from: float, zoom_to: float, drift: float) -> LayerVideo:
    """A still picture of the frame size, zooming from ``zoom_from`` to ``zoom_to``."""
    height, width = rgb.shape[:2]
    motion = KenBurns(width, height, zoom_from, zoom_to, drift)
    return LayerVideo([planar_layer(rgb, None, 1.0)], motion.crop, width, height)


@dataclass
class Crossfade:
    """``first`` until ``start``, then dissolving into ``last`` until ``end`` (fractions of the clip)."""

    first: FrameSource
    last: FrameSource
    start: float
    end: float

    def frame(self, t: float) -> av.VideoFrame:
        weight = ease((t - self.start) / max(1e-6, self.end - self.start))
        if weight <= 0.0:
            return self.first.frame(t)
        if weight >= 1.0:
            return self.last.frame(t)
        out, other = self.first.frame(t), self.last.frame(t)
        mix = np.int16(round(weight * 128))
        a, b = Planes.of(out), Planes.of(other)
        for dst, src in ((a.y, b.y), (a.u, b.u), (a.v, b.v)):
            blend(dst, src, mix)
        return out


def with_pictures(scene: FrameSource | None, first: np.ndarray | None, last: np.ndarray | None,
                  drift: float) -> FrameSource:
    """The frame source for a request: the scene, the pictures, or a transition between them."""
    if first is not None and last is not None:
        return Crossfade(picture_video(first, 1.0, 1.06, drift), picture_video(last, 1.06, 1.0, -drift), 0.3, 0.75)
    if first is not None:
        return picture_video(first, 1.0, 1.1, drift)
    if scene is None:
        raise ValueError("a video needs a scene or a picture")
    if last is not None:
        return Crossfade(scene, picture_video(last, 1.08, 1.0, -drift), 0.5, 0.85)
    return scene
