"""Smooth seeded noise for ridgelines, clouds and textures (numpy + Pillow resampling)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def ridge(width: int, rng: np.random.Generator, period: float, octaves: int = 4) -> np.ndarray:
    """1-D fractal value noise of ``width`` samples in about -1…1 (largest feature ``period`` px)."""
    x = np.arange(width, dtype=np.float64)
    total = np.zeros(width)
    amplitude, norm = 1.0, 0.0
    for _ in range(octaves):
        knots = rng.uniform(-1.0, 1.0, int(width / period) + 3)
        position = x / period
        index = np.floor(position).astype(int)
        frac = position - index
        smooth = frac * frac * (3 - 2 * frac)
        total += amplitude * (knots[index] * (1 - smooth) + knots[index + 1] * smooth)
        norm += amplitude
        amplitude *= 0.5
        period = max(2.0, period / 2)
    return total / norm


def field(height: int, width: int, rng: np.random.Generator, cell: int, octaves: int = 3) -> np.ndarray:
    """2-D fractal noise (float32, about 0…1) made by bicubic upsampling of random grids."""
    total = np.zeros((height, width), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for _ in range(octaves):
        grid = rng.random((max(2, height // cell + 2), max(2, width // cell + 2)), dtype=np.float32)
        image = Image.fromarray(grid).resize((width + cell, height + cell), Image.Resampling.BICUBIC)
        total += amplitude * np.asarray(image)[:height, :width]
        norm += amplitude
        amplitude *= 0.5
        cell = max(2, cell // 2)
    return np.clip(total / norm, 0.0, 1.0)


def _box(array: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Mean over a window of 2·radius+1 along ``axis`` (edges clamped), via a cumulative sum."""
    pad = [(0, 0)] * array.ndim
    pad[axis] = (radius + 1, radius)
    summed = np.cumsum(np.pad(array, pad, mode="edge"), axis=axis, dtype=np.float32)
    size = array.shape[axis]
    upper = np.take(summed, np.arange(2 * radius + 1, 2 * radius + 1 + size), axis=axis)
    lower = np.take(summed, np.arange(0, size), axis=axis)
    return (upper - lower) / (2 * radius + 1)


def blur(array: np.ndarray, radius: float) -> np.ndarray:
    """Near-Gaussian blur (three box passes per axis) of a float H×W or H×W×C array."""
    box = max(1, round(radius * 0.58))
    out = array.astype(np.float32)
    for _ in range(3):
        out = _box(_box(out, box, 0), box, 1)
    return out


def _resize(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32))
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def soft_blur(array: np.ndarray, factor: int, radius: float) -> np.ndarray:
    """A wide, cheap blur: shrink by ``factor``, blur by ``radius`` (small pixels), grow back."""
    height, width = array.shape[:2]
    small = (max(1, width // factor), max(1, height // factor))
    planes = [array] if array.ndim == 2 else [array[..., c] for c in range(array.shape[2])]
    out = [_resize(blur(_resize(plane, small), radius), (width, height)) for plane in planes]
    return out[0] if array.ndim == 2 else np.stack(out, axis=-1)
