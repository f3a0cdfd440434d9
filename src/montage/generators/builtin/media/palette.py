"""Colours of a scene: sky and light by time of day, ground by setting, tint by palette.

All colours are RGB floats in 0–1. A :class:`ScenePalette` is computed from a
:class:`~.prompt.PromptAnalysis` by three table lookups (time of day, setting, palette
name) and a little mixing, so the same prompt always gets the same colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from montage.generators.builtin.media.prompt import PromptAnalysis

Colour = tuple[float, float, float]


def rgb(hex_code: str) -> Colour:
    """``"#ff8800"`` → (1.0, 0.53, 0.0)."""
    value = hex_code.lstrip("#")
    return (int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255)


def mix(a: Colour, b: Colour, t: float) -> Colour:
    """``a`` moved a fraction ``t`` towards ``b``."""
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def scale(a: Colour, k: float) -> Colour:
    return (min(1.0, a[0] * k), min(1.0, a[1] * k), min(1.0, a[2] * k))


#: (sky top, sky at the horizon, sun or moon, light level) by time of day.
TIME_LIGHT: dict[str, tuple[str, str, str, float]] = {
    "dawn": ("#3a4f8c", "#f6ae86", "#ffe0b0", 0.8),
    "day": ("#3b7fd6", "#bfe0f5", "#fffbe8", 1.0),
    "sunset": ("#2c2760", "#ff8a3c", "#ffc27a", 0.75),
    "night": ("#04061a", "#1d2850", "#e8ecff", 0.35),
}
#: (far ground, near ground, structure colour) by setting.
SETTING_GROUND: dict[str, tuple[str, str, str]] = {
    "dojo": ("#6b5240", "#3d2b20", "#2a1c16"),
    "forest": ("#3f6a35", "#1f3a1c", "#18261a"),
    "desert": ("#e0b47a", "#b9854d", "#8a5a33"),
    "city": ("#3a3d48", "#1c1e26", "#161822"),
    "beach": ("#e9d3a4", "#c9ab78", "#2a3b2a"),
    "mountains": ("#6e7a6a", "#3c463a", "#394150"),
    "space": ("#6d6a70", "#3a383e", "#222027"),
    "battlefield": ("#7b6d4a", "#4a3f2a", "#2a2520"),
    "plains": ("#7aa35a", "#3f6a30", "#2d4a2a"),
}
#: (tint, accent 1, accent 2, saturation, contrast) by palette name.
PALETTE_TINTS: dict[str, tuple[str, str, str, float, float]] = {
    "neon": ("#5a1f8a", "#ff2bd6", "#1ef2ff", 1.25, 1.15),
    "teal_orange": ("#1f6f78", "#ffa94d", "#4fd1c5", 1.1, 1.12),
    "pastel": ("#ffc2e0", "#ff8fc7", "#8fd3ff", 0.9, 0.95),
    "ember": ("#8a2a10", "#ff7a2f", "#ffd166", 1.15, 1.1),
    "cold": ("#3a5a80", "#a8c8ff", "#e0f0ff", 0.75, 1.0),
    "dark": ("#2a1020", "#c0303a", "#6a7080", 0.8, 1.15),
    "golden": ("#ffcf70", "#ffd36e", "#fff1c1", 1.1, 1.0),
    "natural": ("#808080", "#fff4d6", "#cfe8ff", 1.0, 1.0),
    "violet": ("#5a3a8a", "#b48cff", "#7ae0ff", 1.05, 1.05),
    "rose": ("#c45a7a", "#ff9ab5", "#ffd6a5", 1.05, 1.0),
    "mono": ("#808080", "#f0f0f0", "#b0b0b0", 0.0, 1.3),
    "earth": ("#7a5a3a", "#e0a060", "#a0c080", 0.95, 1.0),
}
#: How strongly each palette tints the sky and the ground (0 = not at all).
TINT_STRENGTH = {"neon": 0.45, "natural": 0.0, "mono": 0.0, "golden": 0.2, "teal_orange": 0.15}
DEFAULT_TINT_STRENGTH = 0.25


@dataclass(frozen=True)
class ScenePalette:
    """The colours a scene is painted with."""

    sky_top: Colour
    sky_horizon: Colour
    sun: Colour
    light: float
    ground_far: Colour
    ground_near: Colour
    structure: Colour
    accents: tuple[Colour, Colour]
    saturation: float
    contrast: float

    def far(self, depth: float) -> Colour:
        """Silhouette colour at ``depth`` (0 near … 1 far): fades into the horizon."""
        return mix(scale(self.structure, 0.6 + 0.4 * self.light), self.sky_horizon, depth * 0.7)


def scene_palette(analysis: PromptAnalysis) -> ScenePalette:
    """The palette for an analysed prompt."""
    top, horizon, sun, light = TIME_LIGHT[analysis.time_of_day]
    far, near, structure = SETTING_GROUND[analysis.setting]
    tint, accent1, accent2, saturation, contrast = PALETTE_TINTS[analysis.palette]
    strength = TINT_STRENGTH.get(analysis.palette, DEFAULT_TINT_STRENGTH)
    weather_dim = 1.0 - 0.35 * analysis.weather_intensity if analysis.weather in ("rain", "fog") else 1.0
    ground_light = max(0.55 if analysis.setting == "space" else 0.3, light) * weather_dim
    if analysis.weather == "snow":
        far, near = "#dfe6ee", "#b8c2cf"
    if analysis.setting == "city" and analysis.time_of_day == "night":  # the glow of city lights on the sky
        horizon = "#5a4a6e"
    return ScenePalette(
        sky_top=scale(mix(rgb(top), rgb(tint), strength), weather_dim),
        sky_horizon=scale(mix(rgb(horizon), rgb(tint), strength * 0.8), weather_dim),
        sun=rgb(sun),
        light=light * weather_dim,
        ground_far=scale(mix(rgb(far), rgb(tint), strength * 0.5), ground_light),
        ground_near=scale(mix(rgb(near), rgb(tint), strength * 0.5), ground_light),
        structure=mix(rgb(structure), rgb(tint), strength * 0.3),
        accents=(rgb(accent1), rgb(accent2)),
        saturation=saturation,
        contrast=contrast,
    )


def as_array(colour: Colour) -> np.ndarray:
    """A colour as a float32 array of shape (3,) for numpy broadcasting."""
    return np.asarray(colour, dtype=np.float32)


def accent_rgb8(analysis: PromptAnalysis, index: int = 0) -> tuple[int, int, int]:
    """Accent colour ``index`` of the prompt's palette as 8-bit RGB (e.g. for the skeleton)."""
    tints = PALETTE_TINTS[analysis.palette]
    colour = rgb(tints[1] if index % 2 == 0 else tints[2])
    return (round(colour[0] * 255), round(colour[1] * 255), round(colour[2] * 255))
