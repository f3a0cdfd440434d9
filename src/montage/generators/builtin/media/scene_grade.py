"""The last pass over a scene: bloom, colour grade by style and palette, vignette, grain."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from montage.generators.builtin.media.noise import soft_blur
from montage.generators.builtin.media.palette import as_array, rgb
from montage.generators.builtin.media.scene_canvas import Canvas

LUMA = np.asarray([0.299, 0.587, 0.114], np.float32)
#: Height of the black bars of the cinematic style, as a fraction of the picture height.
LETTERBOX = 0.055


def luminance(image: np.ndarray) -> np.ndarray:
    """Per-pixel luma (H×W) of an RGB float image."""
    return np.asarray(image @ LUMA, dtype=np.float32)


def bloom(canvas: Canvas) -> None:
    """Spread the light sources' glow into a soft halo (stronger for neon)."""
    if float(canvas.glow.max()) < 1e-3:
        return
    strength = 1.6 if canvas.analysis.palette == "neon" else 0.9
    wide = soft_blur(canvas.glow, 8, 3.0)
    tight = soft_blur(canvas.glow, 4, 1.0)
    canvas.rgb += (wide * 0.9 + tight * 0.6) * strength


def tone(canvas: Canvas) -> None:
    """Saturation and contrast of the palette, around mid grey."""
    palette = canvas.palette
    grey = luminance(canvas.rgb)[..., None]
    canvas.rgb[:] = grey + (canvas.rgb - grey) * palette.saturation
    canvas.rgb[:] = 0.5 + (canvas.rgb - 0.5) * palette.contrast


def cinematic(canvas: Canvas) -> None:
    """Teal shadows and orange highlights (letterbox bars come last, see :func:`grade`)."""
    light = np.clip(luminance(canvas.rgb), 0, 1)[..., None]
    teal, orange = as_array(rgb("#0f5f6a")), as_array(rgb("#ff9a4a"))
    canvas.rgb += (1 - light) ** 2 * (teal - 0.35) * 0.18 + light ** 2 * (orange - 0.6) * 0.15


def letterbox(canvas: Canvas) -> None:
    """Black bars top and bottom."""
    bar = round(canvas.height * LETTERBOX)
    canvas.rgb[:bar] = 0.0
    canvas.rgb[canvas.height - bar:] = 0.0


def anime(canvas: Canvas) -> None:
    """Cel look: colours posterised into bands, with dark outlines at strong edges."""
    levels = 7.0
    canvas.rgb[:] = np.round(np.clip(canvas.rgb, 0, 1) * levels) / levels * 0.85 + canvas.rgb * 0.15
    light = luminance(canvas.rgb)
    edges = np.abs(np.diff(light, axis=0, append=light[-1:])) + np.abs(np.diff(light, axis=1, append=light[:, -1:]))
    canvas.rgb *= (1.0 - np.clip((edges - 0.08) * 6.0, 0, 0.7))[..., None]


def noir(canvas: Canvas) -> None:
    """Black and white, shadows lifted a little and mid-tones given an S-curve."""
    light = np.clip(luminance(canvas.rgb), 0, 1) ** 0.8
    canvas.rgb[:] = (0.5 * light + 0.5 * light * light * (3 - 2 * light))[..., None]


def painterly(canvas: Canvas) -> None:
    """Softened forms with a canvas-weave texture."""
    canvas.rgb[:] = canvas.rgb * 0.55 + soft_blur(canvas.rgb, 2, 1.5) * 0.45
    ys, xs = np.mgrid[0:canvas.height, 0:canvas.width]
    weave = (np.sin(xs * 1.3) * np.sin(ys * 1.3) * 0.025).astype(np.float32)
    canvas.rgb += weave[..., None]


STYLE_GRADE: dict[str, Callable[[Canvas], None]] = {
    "cinematic": cinematic, "anime": anime, "noir": noir, "painterly": painterly,
}


def vignette(canvas: Canvas, amount: float) -> None:
    """Darken the corners."""
    ys = np.linspace(-1.0, 1.0, canvas.height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, canvas.width, dtype=np.float32)[None, :]
    canvas.rgb *= (1.0 - amount * (xs * xs * 0.6 + ys * ys * 0.8) ** 1.5)[..., None]


def grain(canvas: Canvas, amount: float) -> None:
    """Seeded film grain (one value per pixel, shared by the channels)."""
    noise = canvas.rng.standard_normal((canvas.height, canvas.width), dtype=np.float32) * amount
    canvas.rgb += noise[..., None]


def grade(canvas: Canvas) -> None:
    """Bloom, tone, the style's grade, vignette, grain (and the cinematic bars), in that order."""
    bloom(canvas)
    tone(canvas)
    style = STYLE_GRADE.get(canvas.analysis.style)
    if style is not None:
        style(canvas)
    vignette(canvas, 0.35 if canvas.analysis.style in ("cinematic", "noir") else 0.22)
    grain(canvas, 0.012)
    if canvas.analysis.style == "cinematic":
        letterbox(canvas)


def to_rgb8(canvas: Canvas) -> np.ndarray:
    """The canvas as an 8-bit H×W×3 array."""
    return np.asarray(np.clip(canvas.rgb * 255.0 + 0.5, 0, 255), dtype=np.uint8)
