"""Frames from planar layers: crop each layer for the camera, stack them, scale to the frame.

Everything stays in YUV 4:2:0 bytes, written straight into the planes of the ``VideoFrame``
x264 will read, so no frame is ever converted from RGB or copied whole. Per band of rows a
layer is skipped (transparent), copied (opaque) or blended
(``dst += (src - dst) * alpha >> 7`` in int16). Chroma of a layer at an odd column is taken
from the column pair to its left (half a chroma sample off: invisible, and it lets every
layer move by whole pixels). A zoomed view, smaller than the frame, is scaled up by
FFmpeg's swscale, in C.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image

from montage.generators.builtin.video.camera import Crop, ease, even
from montage.generators.builtin.video.layers import PlanarLayer


@dataclass(frozen=True)
class Planes:
    """Writable views on the Y, U and V planes of a yuv420p ``VideoFrame`` (row padding skipped).

    ``flat`` holds each plane's whole buffer (rows ``stride`` bytes apart), for effects that
    address pixels by flat index or hand a plane to Pillow.
    """

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    flat: tuple[np.ndarray, np.ndarray, np.ndarray]
    strides: tuple[int, int, int]

    @classmethod
    def of(cls, frame: av.VideoFrame) -> Planes:
        flats, views, strides = [], [], []
        for plane in frame.planes:
            flat = np.frombuffer(plane, np.uint8)  # type: ignore[call-overload]
            flats.append(flat)
            views.append(flat.reshape(-1, plane.line_size)[:plane.height, :plane.width])
            strides.append(int(plane.line_size))
        return cls(views[0], views[1], views[2], (flats[0], flats[1], flats[2]),
                   (strides[0], strides[1], strides[2]))

    def map_values(self, index: int, table: np.ndarray) -> None:
        """Replace every value of plane ``index`` (0 Y, 1 U, 2 V) by ``table[value]`` (Pillow, in C)."""
        view = (self.y, self.u, self.v)[index]
        height, width = view.shape
        image = Image.frombuffer("L", (width, height), self.flat[index], "raw", "L", self.strides[index], 1)
        view[...] = np.asarray(image.point(table.tolist()))


def new_frame(width: int, height: int) -> tuple[av.VideoFrame, Planes]:
    """A yuv420p frame whose every pixel the caller must write, and its planes."""
    frame = av.VideoFrame(width, height, "yuv420p")
    return frame, Planes.of(frame)


def blend(dst: np.ndarray, src: np.ndarray, alpha: np.ndarray | np.int16) -> None:
    """``dst`` moved towards ``src`` by ``alpha``/128, in place (uint8 planes, int16 alpha)."""
    diff = np.subtract(src, dst, dtype=np.int16)
    diff *= alpha
    diff >>= 7
    np.add(dst, diff, out=dst, casting="unsafe")


def _put_band(out: Planes, layer: PlanarLayer, rows: tuple[int, int], top: int, left: int,
              mixed: bool) -> None:
    """Copy or blend layer rows ``rows`` (even) at column ``left`` into ``out`` (shifted up by ``top``)."""
    width = out.y.shape[1]
    r0, r1 = rows
    d0, d1 = r0 - top, r1 - top
    c0, cw = left // 2, width // 2
    planes = ((out.y[d0:d1], layer.y[r0:r1, left:left + width], layer.alpha, (r0, r1, left, left + width)),
              (out.u[d0 // 2:d1 // 2], layer.u[r0 // 2:r1 // 2, c0:c0 + cw], layer.alpha_half,
               (r0 // 2, r1 // 2, c0, c0 + cw)),
              (out.v[d0 // 2:d1 // 2], layer.v[r0 // 2:r1 // 2, c0:c0 + cw], layer.alpha_half,
               (r0 // 2, r1 // 2, c0, c0 + cw)))
    for dst, src, alpha, (a0, a1, b0, b1) in planes:
        if mixed and alpha is not None:
            blend(dst, src, alpha[a0:a1, b0:b1])
        else:
            dst[...] = src


def compose(layers: Sequence[PlanarLayer], crop: Crop) -> av.VideoFrame:
    """The view ``crop`` of the stacked layers, ``crop.width``×``crop.height``."""
    frame, out = new_frame(crop.width, crop.height)
    bottom = crop.top + crop.height
    for layer, left in zip(layers, crop.lefts, strict=True):
        for start, end, kind in layer.bands:
            r0, r1 = max(start, crop.top), min(end, bottom)
            if r0 < r1:
                _put_band(out, layer, (r0, r1), crop.top, left, kind == "mixed")
    return frame


def scale(frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
    """``frame`` scaled to ``width``×``height`` (bilinear, by swscale)."""
    if (frame.width, frame.height) == (width, height):
        return frame
    return frame.reformat(width=width, height=height, interpolation="BILINEAR")


@dataclass
class LayerVideo:
    """Frames of layers seen through a moving crop, at ``width``×``height``."""

    layers: list[PlanarLayer]
    crop_at: Callable[[float], Crop]
    width: int
    height: int

    def frame(self, t: float) -> av.VideoFrame:
        """The frame at time ``t`` (0 = first frame, 1 = last)."""
        return scale(compose(self.layers, self.crop_at(t)), self.width, self.height)


@dataclass(frozen=True)
class KenBurns:
    """A slow zoom over one picture of exactly the frame size, drifting sideways while zoomed."""

    width: int
    height: int
    zoom_from: float
    zoom_to: float
    drift: float  # -1…1: where the zoomed view sits, left to right, at full zoom

    def crop(self, t: float) -> Crop:
        zoom = self.zoom_from + (self.zoom_to - self.zoom_from) * ease(t)
        width, height = min(self.width, even(self.width / zoom)), min(self.height, even(self.height / zoom))
        spare = self.width - width
        left = min(spare, max(0, round(spare / 2 * (1 + self.drift))))
        return Crop(width, height, even((self.height - height) / 2), (left,))
