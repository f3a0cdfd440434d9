"""Weather over the finished scene: rain streaks and splashes, snowflakes, fog banks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from montage.generators.builtin.media.noise import field, soft_blur
from montage.generators.builtin.media.palette import as_array, mix, scale
from montage.generators.builtin.media.scene_canvas import Canvas

#: Rain streaks per megapixel at full intensity.
RAIN_DENSITY = 5200
SNOW_DENSITY = 2600


def _streak_layer(canvas: Canvas, count: int) -> np.ndarray:
    """Thin slanted streaks of random length and brightness, as a 0–1 mask."""
    rng, unit = canvas.rng, canvas.unit
    image = Image.new("L", (canvas.width, canvas.height), 0)
    draw = ImageDraw.Draw(image)
    slant = rng.uniform(0.12, 0.25)
    xs = rng.uniform(-0.1, 1.0, count) * canvas.width
    ys = rng.uniform(-0.05, 1.0, count) * canvas.height
    lengths = rng.uniform(18, 70, count) * unit
    shades = rng.integers(60, 200, count)
    widths = np.where(rng.random(count) < 0.15, 2, 1)
    for x, y, length, shade, width in zip(xs, ys, lengths, shades, widths, strict=True):
        draw.line([(x, y), (x + length * slant, y + length)], fill=int(shade), width=int(width))
    return np.asarray(image, dtype=np.float32) / 255.0


def rain(canvas: Canvas) -> None:
    """Streaks over everything, splashes on the ground, and a grey veil of spray."""
    intensity = canvas.analysis.weather_intensity
    megapixels = canvas.width * canvas.height / 1e6
    streaks = _streak_layer(canvas, int(RAIN_DENSITY * megapixels * intensity))
    light = mix((0.75, 0.8, 0.88), canvas.palette.sky_horizon, 0.3)
    canvas.paint(streaks, light, opacity=0.55)
    rng = canvas.rng
    ground = canvas.height - canvas.horizon
    count = int(900 * megapixels * intensity)
    splash = np.zeros((ground, canvas.width), np.float32)
    ys = (canvas.horizon + ground * rng.random(count) ** 0.7).astype(int) - canvas.horizon
    xs = rng.integers(0, canvas.width, count)
    splash[np.clip(ys, 0, ground - 1), xs] = rng.uniform(0.4, 1.0, count)
    splashes = np.clip(soft_blur(splash, 1, 1.0) * 2.5, 0, 1)
    canvas.paint(splashes, light, canvas.horizon, 0, 0.6)
    veil = np.linspace(0.05, 0.2, canvas.height, dtype=np.float32)[:, None] * intensity
    canvas.paint(np.broadcast_to(veil, (canvas.height, canvas.width)), scale(light, 0.6))


def snow(canvas: Canvas) -> None:
    """Flakes in two depths: small sharp far ones, big soft near ones."""
    rng = canvas.rng
    intensity = canvas.analysis.weather_intensity
    megapixels = canvas.width * canvas.height / 1e6
    for near, radius in ((False, 1.2), (True, 3.2)):
        count = int(SNOW_DENSITY * megapixels * intensity * (0.35 if near else 1.0))
        image = Image.new("L", (canvas.width, canvas.height), 0)
        draw = ImageDraw.Draw(image)
        xs, ys = rng.uniform(0, canvas.width, count), rng.uniform(0, canvas.height, count)
        sizes = rng.uniform(0.5, 1.0, count) * radius * canvas.unit
        for x, y, r in zip(xs, ys, sizes, strict=True):
            draw.ellipse([x - r, y - r, x + r, y + r], fill=int(rng.integers(150, 255)))
        mask = np.asarray(image, dtype=np.float32) / 255.0
        if near:
            mask = np.clip(soft_blur(mask, 1, 1.2) * 1.6, 0, 1)
        canvas.paint(mask, (0.96, 0.97, 1.0), opacity=0.85)


def fog(canvas: Canvas) -> None:
    """Banks of fog, densest just above the ground, thinning upwards."""
    intensity = canvas.analysis.weather_intensity
    banks = field(canvas.height, canvas.width, canvas.rng, cell=max(8, round(260 * canvas.unit)), octaves=4)
    rows = np.arange(canvas.height, dtype=np.float32)[:, None]
    profile = np.exp(-((rows - canvas.horizon) / (canvas.height * 0.28)) ** 2)
    density = np.clip(profile * (0.35 + 0.65 * banks) * (0.4 + 0.6 * intensity), 0, 0.9)
    colour = mix(canvas.palette.sky_horizon, (0.85, 0.87, 0.9), 0.4)
    canvas.paint(density, colour)
    canvas.glow *= 1.0 - density[..., None] * 0.5


def haze(canvas: Canvas) -> None:
    """Clear weather: a faint band of atmospheric haze at the horizon."""
    rows = np.arange(canvas.height, dtype=np.float32)[:, None]
    band = np.exp(-((rows - canvas.horizon) / (canvas.height * 0.06)) ** 2) * 0.25
    canvas.rgb += band[..., None] * (as_array(canvas.palette.sky_horizon) - canvas.rgb) * 0.8


WEATHER: dict[str, Callable[[Canvas], None]] = {"rain": rain, "snow": snow, "fog": fog, "clear": haze}


def paint_weather(canvas: Canvas) -> None:
    """The weather of the analysed prompt, over everything already painted."""
    WEATHER[canvas.analysis.weather](canvas)
