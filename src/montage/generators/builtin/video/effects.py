"""What moves over the picture each frame: weather and light, drawn straight into the YUV planes.

Each effect is prepared once (streak textures, flake sets, fog density, flash times) and then
costs a little per frame: rain and snow touch only their own pixels (gathered and scattered
by index), fog only the rows it lies in, and every change of overall light (lightning,
flicker, sunrise, sunset) is folded into one 256-entry table applied to the luma plane.
Vignette and letterbox bars are fixed to the camera, so they come last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw

from montage.generators.builtin.media.noise import field as noise_field
from montage.generators.builtin.media.palette import Colour
from montage.generators.builtin.video.compositor import Planes


def yuv(colour: Colour) -> tuple[int, int, int]:
    """An RGB colour (0–1) as BT.709 limited-range (Y, Cb, Cr)."""
    r, g, b = (min(1.0, max(0.0, c)) for c in colour)
    y = 16 + 219 * (0.2126 * r + 0.7152 * g + 0.0722 * b)
    u = 128 + 224 * (-0.1146 * r - 0.3854 * g + 0.5 * b)
    v = 128 + 224 * (0.5 * r - 0.4542 * g - 0.0458 * b)
    return round(y), round(u), round(v)


def pull(flat: np.ndarray, index: np.ndarray, target: int, weight: np.ndarray | int) -> None:
    """Move ``flat[index]`` towards ``target`` by ``weight``/128 (int16)."""
    values = flat[index].astype(np.int16)
    values += ((target - values) * weight) >> 7
    flat[index] = values


def wrap(values: np.ndarray, shift: int, size: int) -> np.ndarray:
    """``(values + shift) % size`` for values already in 0…size (int32, cheaper than ``%``)."""
    out = values + np.int32(shift % size)
    out[out >= size] -= size
    return out


class Effect(Protocol):
    def apply(self, planes: Planes, index: int, seconds: float) -> None:
        """Draw this effect on frame ``index`` (at ``seconds`` into the clip)."""


@dataclass
class Rain:
    """Slanted streaks falling through the frame, and splashes flickering on the ground."""

    width: int
    height: int
    horizon: int
    rng: np.random.Generator
    intensity: float
    light: int
    slant: float = 0.18
    rows: np.ndarray = field(init=False)
    cols: np.ndarray = field(init=False)
    weight: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        unit = self.height / 1080.0
        count = int(2200 * self.width * self.height / 1e6 * self.intensity)
        image = Image.new("L", (self.width, self.height), 0)
        draw = ImageDraw.Draw(image)
        xs = self.rng.uniform(0, self.width, count)
        ys = self.rng.uniform(0, self.height, count)
        lengths = self.rng.uniform(18, 70, count) * unit
        shades = self.rng.integers(70, 210, count)
        for x, y, length, shade in zip(xs, ys, lengths, shades, strict=True):
            for dy in (-self.height, 0):  # drawn twice so the texture wraps top to bottom
                draw.line([(x, y + dy), (x + length * self.slant, y + dy + length)], fill=int(shade))
        mask = np.asarray(image)
        rows, cols = np.nonzero(mask)
        self.rows, self.cols = rows.astype(np.int32), cols.astype(np.int32)
        self.weight = (mask[rows, cols].astype(np.int16) * 80) >> 8

    def apply(self, planes: Planes, index: int, seconds: float) -> None:
        fall = seconds * self.height * 1.6
        rows = wrap(self.rows, int(fall), self.height)
        cols = wrap(self.cols, int(fall * self.slant), self.width)
        pull(planes.flat[0], rows.astype(np.intp) * planes.strides[0] + cols, self.light, self.weight)
        count = int(300 * self.width * self.height / 1e6 * self.intensity)
        ground = self.height - self.horizon
        splash_rows = np.minimum(self.horizon + (ground * self.rng.random(count) ** 0.7).astype(np.intp),
                                 self.height - 1)
        splash_cols = self.rng.integers(0, self.width, count)
        pull(planes.flat[0], splash_rows * planes.strides[0] + splash_cols, self.light, 80)


@dataclass
class Snow:
    """Flakes at three depths: near ones big, soft, fast and swaying more."""

    width: int
    height: int
    rng: np.random.Generator
    intensity: float
    sprites: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(init=False)
    flakes: list[np.ndarray] = field(init=False)  # per size: x0, y0, speed, sway, phase (5 × n)

    def __post_init__(self) -> None:
        unit = self.height / 1080.0
        megapixels = self.width * self.height / 1e6
        self.sprites, self.flakes = [], []
        for radius, share, speed in ((1.2, 0.55, 0.07), (2.2, 0.3, 0.12), (3.4, 0.15, 0.2)):
            r = max(0.8, radius * unit * 1.4)
            span = math.ceil(r)
            dy, dx = np.mgrid[-span:span + 1, -span:span + 1]
            weight = np.clip(1.0 - np.hypot(dy, dx) / (r + 0.5), 0.0, 1.0) * 118
            keep = weight > 4
            self.sprites.append((dy[keep], dx[keep], weight[keep].astype(np.int16)))
            count = int(2600 * megapixels * self.intensity * share * 1.3)
            self.flakes.append(np.stack([
                self.rng.uniform(0, self.width, count), self.rng.uniform(0, self.height, count),
                self.height * speed * self.rng.uniform(0.8, 1.2, count), self.rng.uniform(4, 18, count) * unit,
                self.rng.uniform(0, 2 * math.pi, count)]))

    def apply(self, planes: Planes, index: int, seconds: float) -> None:
        for (dy, dx, weight), (x0, y0, speed, sway, phase) in zip(self.sprites, self.flakes, strict=True):
            ys = ((y0 + speed * seconds) % self.height).astype(np.int64)
            xs = ((x0 + sway * np.sin(seconds * 1.3 + phase)) % self.width).astype(np.int64)
            rows = np.clip(ys[:, None] + dy[None, :], 0, self.height - 1)
            cols = np.clip(xs[:, None] + dx[None, :], 0, self.width - 1)
            pull(planes.flat[0], (rows * planes.strides[0] + cols).ravel(), 235, np.tile(weight, ys.size))
            if dy.size > 9:  # big flakes also lose the colour under them
                chroma = ((rows // 2) * planes.strides[1] + cols // 2).ravel()
                weights = np.tile(weight, ys.size)
                pull(planes.flat[1], chroma, 128, weights)
                pull(planes.flat[2], chroma, 128, weights)


@dataclass
class Fog:
    """Banks of fog drifting sideways, densest just above the horizon."""

    width: int
    height: int
    horizon: int
    rng: np.random.Generator
    intensity: float
    colour: tuple[int, int, int]
    drift: float  # pixels per second
    duration: float
    top: int = field(init=False)
    density: np.ndarray = field(init=False)  # int16 0–128, rows top…, width + travel columns
    half: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        travel = int(abs(self.drift) * self.duration) // 2 * 2 + 2
        unit = self.height / 1080.0
        banks = noise_field(self.height, self.width + travel, self.rng, cell=max(8, round(260 * unit)), octaves=4)
        rows = np.arange(self.height, dtype=np.float32)[:, None]
        profile = np.exp(-((rows - self.horizon) / (self.height * 0.28)) ** 2)
        density = np.clip(profile * (0.35 + 0.65 * banks) * (0.4 + 0.6 * self.intensity), 0, 0.85)
        alpha = np.rint(density * 128).astype(np.int16)
        used = np.flatnonzero(alpha.max(axis=1) > 2)
        self.top = int(used[0]) // 2 * 2 if used.size else self.height
        self.density = alpha[self.top:]
        self.half = self.density[::2, ::2].copy()

    def apply(self, planes: Planes, index: int, seconds: float) -> None:
        if self.top >= self.height:
            return
        shift = int(seconds * abs(self.drift)) // 2 * 2
        if self.drift < 0:
            shift = self.density.shape[1] - self.width - shift
        window = self.density[:, shift:shift + self.width]
        half = self.half[:, shift // 2:shift // 2 + self.width // 2]
        for plane, alpha, target, top in ((planes.y, window, self.colour[0], self.top),
                                          (planes.u, half, self.colour[1], self.top // 2),
                                          (planes.v, half, self.colour[2], self.top // 2)):
            region = plane[top:top + alpha.shape[0], :alpha.shape[1]]
            values = region.astype(np.int16)
            values += ((target - values) * alpha[:region.shape[0], :region.shape[1]]) >> 7
            region[...] = values
