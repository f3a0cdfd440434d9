"""Light over the whole frame: lightning, flicker, sunrise and sunset, rays, vignette, letterbox.

Changes of overall brightness and colour are folded per frame into one luma table and one
chroma shift (:class:`Light`), so any number of them costs one pass over the planes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from montage.generators.builtin.media.scene_grade import LETTERBOX
from montage.generators.builtin.video.compositor import Planes

_LEVELS = np.arange(256, dtype=np.float32)


@dataclass
class Light:
    """Brightness and warmth over time: lightning flashes, flicker, a sunrise or a sunset."""

    lights: frozenset[str]
    duration: float
    rng: np.random.Generator
    flashes: list[float] = field(init=False)
    wobble: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        count = max(1, round(self.duration / 3.0)) if "lightning" in self.lights else 0
        self.flashes = sorted(float(t) for t in self.rng.uniform(0.12, 0.85, count) * self.duration)
        self.wobble = self.rng.uniform(-1.0, 1.0, 64)

    def flash(self, seconds: float) -> float:
        """Lightning brightness 0–1: each strike is three quick pulses."""
        total = 0.0
        for start in self.flashes:
            for delay, strength in ((0.0, 0.55), (0.09, 0.3), (0.2, 0.85)):
                age = seconds - start - delay
                if 0 <= age < 0.4:
                    total += strength * math.exp(-age / 0.06)
        return min(1.0, total)

    def gain_and_warmth(self, seconds: float) -> tuple[float, float]:
        """Brightness factor and warmth (chroma shift) at ``seconds``."""
        t = seconds / self.duration if self.duration > 0 else 0.0
        gain, warmth = 1.0, 0.0
        if "sunrise" in self.lights:
            gain *= 0.78 + 0.27 * t
            warmth += 6.0 * (1.0 - t)
        if "sunset" in self.lights:
            gain *= 1.04 - 0.26 * t
            warmth += 8.0 * t
        if "flicker" in self.lights:
            phase = seconds * 9.0
            low = int(phase) % self.wobble.size
            frac = phase - int(phase)
            gain *= 1.0 + 0.045 * (self.wobble[low] * (1 - frac) + self.wobble[(low + 1) % self.wobble.size] * frac)
        return gain, warmth

    @property
    def active(self) -> bool:
        return bool(self.lights & {"lightning", "flicker", "sunrise", "sunset"})

    def apply(self, planes: Planes, index: int, seconds: float) -> None:
        gain, warmth = self.gain_and_warmth(seconds)
        flash = self.flash(seconds)
        if abs(gain - 1.0) < 1e-3 and warmth < 0.5 and flash < 0.01:
            return
        luma = 16.0 + (_LEVELS - 16.0) * gain
        luma += (235.0 - luma) * flash * 0.75
        planes.map_values(0, np.clip(np.rint(luma), 0, 255).astype(np.uint8))
        if warmth >= 0.5 or flash >= 0.01:
            fade = 1.0 - flash * 0.6
            for index, shift in ((1, -warmth), (2, warmth)):
                chroma = np.clip(np.rint(128.0 + (_LEVELS - 128.0) * fade + shift), 0, 255).astype(np.uint8)
                planes.map_values(index, chroma)


@dataclass
class Rays:
    """Shafts of light fanning down from the sun, breathing slowly."""

    width: int
    height: int
    sun: tuple[float, float]
    rng: np.random.Generator
    top: int = field(init=False)
    left: int = field(init=False)
    amount: np.ndarray = field(init=False)  # uint8 luma to add at full strength

    def __post_init__(self) -> None:
        ys, xs = np.mgrid[0:self.height, 0:self.width].astype(np.float32)
        dx, dy = xs - self.sun[0], ys - self.sun[1]
        angle = np.arctan2(dy, dx)
        spokes = np.zeros_like(angle)
        for k, weight in ((7, 0.5), (13, 0.3), (23, 0.2)):
            spokes += weight * (0.5 + 0.5 * np.cos(angle * k + self.rng.uniform(0, 2 * math.pi)))
        distance = np.hypot(dx, dy) / max(self.width, self.height)
        amount = np.clip(spokes ** 3 * np.exp(-distance * 2.2) * 60.0, 0, 60)
        used_rows = np.flatnonzero(amount.max(axis=1) >= 1)
        used_cols = np.flatnonzero(amount.max(axis=0) >= 1)
        self.top = int(used_rows[0]) if used_rows.size else self.height
        self.left = int(used_cols[0]) if used_cols.size else self.width
        self.amount = amount[self.top:, self.left:].astype(np.uint8)

    def apply(self, planes: Planes, index: int, seconds: float) -> None:
        if self.top >= self.height:
            return
        strength = 0.75 + 0.25 * math.sin(seconds * 1.7)
        region = planes.y[self.top:, self.left:]
        lifted = region + (self.amount * strength).astype(np.uint16)
        np.minimum(lifted, 235, out=lifted)
        region[...] = lifted


@dataclass
class Vignette:
    """Darker corners, fixed to the camera (the painter's vignette, per frame)."""

    width: int
    height: int
    amount: float
    factor: np.ndarray = field(init=False)  # uint16 0–256

    def __post_init__(self) -> None:
        ys = np.linspace(-1.0, 1.0, self.height, dtype=np.float32)[:, None]
        xs = np.linspace(-1.0, 1.0, self.width, dtype=np.float32)[None, :]
        shade = 1.0 - self.amount * (xs * xs * 0.6 + ys * ys * 0.8) ** 1.5
        self.factor = np.rint(shade * 256).astype(np.uint16)

    def apply(self, planes: Planes, index: int, seconds: float) -> None:
        darker = planes.y * self.factor
        darker >>= 8
        planes.y[...] = darker


@dataclass
class Letterbox:
    """Black bars top and bottom (the cinematic style)."""

    height: int

    def apply(self, planes: Planes, index: int, seconds: float) -> None:
        bar = round(self.height * LETTERBOX / 2) * 2
        for plane, black, rows in ((planes.y, 16, bar), (planes.u, 128, bar // 2), (planes.v, 128, bar // 2)):
            plane[:rows] = black
            plane[plane.shape[0] - rows:] = black
