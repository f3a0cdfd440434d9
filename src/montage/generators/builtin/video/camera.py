"""Where the camera looks at each moment: a horizontal pan and a zoom, eased in and out.

The pan moves the view over the near layer by ``pan × width`` in all; layers further back
move less (their ``parallax``), which is what makes the picture read as deep. The zoom
narrows the view (``width / zoom``) around the middle; the compositor scales that view
back up to the frame size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from montage.generators.builtin.video.words import CameraMove

#: How fast the sky and the near layer move relative to the camera, by camera move (layers in
#: between move at speeds in between, see :func:`~.layers.depth_parallax`).
PARALLAX: dict[str, tuple[float, float]] = {
    "orbit": (0.03, 1.0),
    "default": (0.1, 1.0),
}


def ease(t: float) -> float:
    """Ease in and out (a half cosine): slow start, steady middle, slow stop."""
    t = min(1.0, max(0.0, t))
    return 0.5 - 0.5 * math.cos(math.pi * t)


def even(value: float) -> int:
    return round(value / 2.0) * 2


@dataclass(frozen=True)
class Crop:
    """The part of the layers a frame shows: size, top row, and the left column per layer."""

    width: int
    height: int
    top: int
    lefts: tuple[int, ...]


@dataclass(frozen=True)
class CameraPath:
    """A camera move over a frame of ``width``×``height``."""

    move: CameraMove
    width: int
    height: int

    @property
    def parallax(self) -> tuple[float, float]:
        return PARALLAX.get(self.move.kind, PARALLAX["default"])

    @property
    def layer_width(self) -> int:
        """How wide the layers must be for the view never to leave them."""
        return even(self.width + self.move.pan * self.width + 8)

    def zoom(self, t: float) -> float:
        return self.move.zoom_from + (self.move.zoom_to - self.move.zoom_from) * ease(t)

    def offset(self, t: float) -> float:
        """How far (pixels) the view's centre is right of the layers' centre, on the near layer."""
        return self.move.direction * self.move.pan * self.width * (ease(t) - 0.5)

    def crop(self, t: float, parallax: tuple[float, ...]) -> Crop:
        """The crop of each layer (all ``layer_width`` × ``height``) at time ``t`` (0–1)."""
        zoom = self.zoom(t)
        width, height = min(self.width, even(self.width / zoom)), min(self.height, even(self.height / zoom))
        top = even((self.height - height) / 2)
        span = self.layer_width - width
        lefts = tuple(min(span, max(0, round(span / 2 + self.offset(t) * p))) for p in parallax)
        return Crop(width, height, top, lefts)
