"""The sky: gradient by time of day, sun or moon with its halo, stars, clouds, nebulae."""

from __future__ import annotations

import numpy as np

from montage.generators.builtin.media.noise import field
from montage.generators.builtin.media.palette import as_array, mix, scale
from montage.generators.builtin.media.scene_canvas import Canvas, ellipse, vertical_gradient

#: Height of the sun or moon above the horizon, as a fraction of the sky's height.
SUN_ALTITUDE = {"dawn": 0.2, "day": 0.7, "sunset": 0.16, "night": 0.65}
#: How much of the sky clouds cover, by weather.
CLOUD_COVER = {"clear": 0.25, "rain": 0.85, "snow": 0.7, "fog": 0.6}


def paint_sky(canvas: Canvas) -> None:
    """Fill the whole canvas with the sky gradient (the ground is painted over it later)."""
    palette = canvas.palette
    gradient = vertical_gradient(canvas.horizon, palette.sky_top, palette.sky_horizon, power=0.7)
    canvas.rgb[:canvas.horizon] = gradient
    canvas.rgb[canvas.horizon:] = as_array(palette.sky_horizon)


def sun_position(canvas: Canvas) -> tuple[float, float]:
    """Where the sun (or moon) is; stored in ``canvas.notes`` so later layers can use it."""
    if "sun_x" not in canvas.notes:
        canvas.notes["sun_x"] = float(canvas.rng.uniform(0.22, 0.78)) * canvas.width
        altitude = SUN_ALTITUDE[canvas.analysis.time_of_day]
        canvas.notes["sun_y"] = canvas.horizon * (1.0 - altitude)
    return canvas.notes["sun_x"], canvas.notes["sun_y"]


#: (wide halo, tight halo) strength of the sun or moon by time of day.
HALO = {"dawn": (0.5, 0.35), "day": (0.18, 0.3), "sunset": (0.55, 0.35), "night": (0.12, 0.2)}


def paint_sun(canvas: Canvas) -> None:
    """The sun or moon: a disc and its halo, dimmed by bad weather.

    Painted into the sky only (never into the glow buffer), so hills and buildings in
    front of it hide it.
    """
    analysis = canvas.analysis
    cx, cy = sun_position(canvas)
    veil = 1.0 - 0.8 * analysis.weather_intensity if analysis.weather != "clear" else 1.0
    night = analysis.time_of_day == "night"
    radius = canvas.unit * (34 if night else 46)
    wide, tight = HALO[analysis.time_of_day]
    ys, xs = np.mgrid[0:canvas.horizon, 0:canvas.width].astype(np.float32)
    distance2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / (radius * radius)
    halo = (np.exp(-distance2 / 60.0) * wide + np.exp(-distance2 / 5.0) * tight) * veil
    canvas.rgb[:canvas.horizon] += halo[..., None] * as_array(canvas.palette.sun)
    ellipse(canvas, cx, cy, radius, radius, scale(canvas.palette.sun, 1.1), opacity=0.35 + 0.65 * veil)
    if night:  # a darker "sea" on the moon so it reads as a moon
        ellipse(canvas, cx - radius * 0.3, cy - radius * 0.2, radius * 0.35, radius * 0.28,
                scale(canvas.palette.sun, 0.8), opacity=0.4 * veil)


def paint_stars(canvas: Canvas, count: int) -> None:
    """Seeded points of light in the upper sky, fewer towards the horizon."""
    rng = canvas.rng
    xs = rng.integers(0, canvas.width, count)
    ys = (rng.random(count) ** 1.6 * canvas.horizon * 0.95).astype(int)
    brightness = rng.uniform(0.3, 1.0, count).astype(np.float32) ** 2
    tint = np.stack([np.ones(count), rng.uniform(0.85, 1.0, count), rng.uniform(0.9, 1.1, count)], axis=1)
    canvas.rgb[ys, xs] = np.clip(canvas.rgb[ys, xs] + brightness[:, None] * tint.astype(np.float32), 0, 1.5)
    bright = brightness > 0.6
    for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        yy = np.clip(ys[bright] + dy, 0, canvas.height - 1)
        xx = np.clip(xs[bright] + dx, 0, canvas.width - 1)
        canvas.rgb[yy, xx] += brightness[bright, None] * 0.35


def paint_clouds(canvas: Canvas) -> None:
    """Soft clouds from fractal noise, lit from the sun's side, darker and denser in rain."""
    analysis = canvas.analysis
    cover = CLOUD_COVER[analysis.weather] * (0.6 + 0.4 * max(analysis.weather_intensity, 0.5))
    height = canvas.horizon
    noise = field(height, canvas.width, canvas.rng, cell=max(8, round(240 * canvas.unit)), octaves=4)
    # Stretch clouds horizontally and thin them out high up.
    density = np.clip((noise - (1.0 - cover) * 0.75) * 2.2, 0.0, 1.0)
    density *= np.linspace(0.55, 1.0, height, dtype=np.float32)[:, None]
    palette = canvas.palette
    storm = analysis.weather in ("rain", "snow")
    shade = scale(palette.sky_top, 0.55) if storm else mix(palette.sky_horizon, palette.sun, 0.35)
    lit = mix(palette.sky_horizon, palette.sun, 0.6)
    sun_x, _ = sun_position(canvas)
    side = np.exp(-(((np.arange(canvas.width, dtype=np.float32) - sun_x) / (canvas.width * 0.4)) ** 2))
    colour = as_array(shade)[None, None, :] + (as_array(lit) - as_array(shade))[None, None, :] * (
        side[None, :, None] * (noise[..., None] ** 2) * (0.4 if storm else 1.0))
    canvas.paint(density * (0.85 if storm else 0.6), colour)


def paint_nebula(canvas: Canvas) -> None:
    """Space: two coloured gas clouds and a dusty band."""
    height, width = canvas.horizon, canvas.width
    for index, accent in enumerate(canvas.palette.accents):
        noise = field(height, width, canvas.rng, cell=max(8, round(300 * canvas.unit)), octaves=5)
        weight = np.clip(noise * 1.8 - 0.75 - 0.1 * index, 0.0, 1.0) ** 1.5
        canvas.rgb[:height] += weight[..., None] * as_array(scale(accent, 0.55))


def paint_planet(canvas: Canvas) -> None:
    """Space: a large lit planet with a terminator and a bright rim."""
    rng = canvas.rng
    radius = canvas.height * rng.uniform(0.14, 0.2)
    cx = canvas.width * rng.choice([0.2, 0.8])
    cy = canvas.horizon * rng.uniform(0.3, 0.45)
    top, left = int(cy - radius) - 2, int(cx - radius) - 2
    size = int(2 * radius) + 4
    ys, xs = np.mgrid[top:top + size, left:left + size].astype(np.float32)
    nx, ny = (xs - cx) / radius, (ys - cy) / radius
    inside = np.clip((1.0 - np.sqrt(nx * nx + ny * ny)) * radius, 0.0, 1.0)
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    light = np.clip(0.7 * nx - 0.4 * ny + 0.6 * nz, 0.0, 1.0)
    bands = 0.85 + 0.15 * np.sin(ny * 18.0 + np.sin(nx * 4.0))
    base = as_array(mix(canvas.palette.accents[1], (0.6, 0.5, 0.45), 0.5))
    colour = (light * bands)[..., None] * base + (1.0 - nz[..., None]) ** 3 * as_array(canvas.palette.accents[0])
    canvas.paint(inside[..., None] * np.ones(3, np.float32), colour, top, left)
