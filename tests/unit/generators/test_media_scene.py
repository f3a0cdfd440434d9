"""``media.scene``: a real, composed, deterministic PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from montage.errors import GeneratorError
from montage.generators.builtin.media.palette import scene_palette
from montage.generators.builtin.media.prompt import analyse_prompt
from montage.generators.builtin.media.scene import SceneConfig, SceneGenerator
from montage.generators.builtin.media.scene_canvas import Canvas
from montage.generators.builtin.media.scene_weather import rain
from montage.generators.registry import get_generator
from montage.generators.standalone import StandaloneContext

SMALL = SceneConfig(width=480, height=270)


def run_scene(workdir: Path, prompt: str, config: SceneConfig = SMALL, seed: int = 42,
              **options: Any) -> tuple[StandaloneContext, dict[str, Any]]:
    ctx = StandaloneContext(workdir=workdir, input={"prompt": prompt, "options": options}, stage="scene", seed=seed)
    return ctx, SceneGenerator().run(ctx, config)


def pixels(workdir: Path) -> np.ndarray:
    with Image.open(workdir / "scene" / "scene.png") as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32)


def test_registered() -> None:
    assert isinstance(get_generator("media.scene"), SceneGenerator)


def test_full_size_png_is_a_composed_picture(tmp_path: Path) -> None:
    ctx, outputs = run_scene(tmp_path, "A cyberpunk dojo in heavy rain, samurai training, epic music",
                             SceneConfig())
    with Image.open(tmp_path / "scene" / "scene.png") as image:
        assert image.format == "PNG"
        assert image.size == (1920, 1080)
    image_px = pixels(tmp_path)
    assert image_px.std() > 20  # not a flat card
    packed = image_px.astype(np.int32) @ np.asarray([65536, 256, 1], np.int32)
    assert np.unique(packed).size > 5000  # gradients, lights and texture, not a few flat fills
    assert outputs["path"] == "scene/scene.png"
    assert outputs["analysis"]["setting"] == "dojo"
    [artifact] = ctx.artifacts
    assert (artifact.role, artifact.mime) == ("scene", "image/png")
    assert ctx.progress_log[-1][0] == 100


@pytest.mark.parametrize("prompt", [
    "a girl dancing on a sunny beach", "a knight walks in snowy mountains", "an astronaut on a lunar plain",
    "a nomad in the desert at sunset", "a detective in a city street at night", "walking in a foggy forest",
    "A warrior dashes forward and slashes the enemy", "a meadow in spring",
])
def test_every_setting_paints_a_varied_picture(tmp_path: Path, prompt: str) -> None:
    run_scene(tmp_path, prompt)
    image = pixels(tmp_path)
    assert image.shape == (270, 480, 3)
    assert image.std() > 12
    # the top (sky) and the bottom (ground) are painted differently
    assert np.abs(image[:60].mean(axis=(0, 1)) - image[-60:].mean(axis=(0, 1))).max() > 8


def _vertical_coherence(image: np.ndarray) -> float:
    """Correlation of the horizontal gradient with the one a row below, over the top third.

    Thin near-vertical streaks continue from row to row (high); a smooth sky with film grain
    does not (about zero).
    """
    grey = image[: image.shape[0] // 3].mean(axis=2)
    gx = np.diff(grey, axis=1)
    return float((gx[:-1] * gx[1:]).mean() / max((gx * gx).mean(), 1e-9))


def test_rain_draws_streaks_over_the_scene(tmp_path: Path) -> None:
    rainy, clear = tmp_path / "rain", tmp_path / "clear"
    run_scene(rainy, "a desert at noon in heavy rain")
    run_scene(clear, "a desert at noon")
    assert _vertical_coherence(pixels(clear)) < 0.2
    assert _vertical_coherence(pixels(rainy)) > 0.4


def test_rain_overlay_is_made_of_slanted_streaks() -> None:
    analysis = analyse_prompt("a city in heavy rain")
    canvas = Canvas.blank(640, 360, 0.6, scene_palette(analysis), analysis, np.random.default_rng(1))
    rain(canvas)
    streaks = canvas.rgb[:200].mean(axis=2)
    streaks = streaks - streaks.mean(axis=1, keepdims=True)
    down = (streaks[:-1] * streaks[1:]).mean() / (streaks * streaks).mean()
    across = (streaks[:, :-1] * streaks[:, 1:]).mean() / (streaks * streaks).mean()
    assert down > 0.5 > across


def test_same_seed_same_bytes_other_seed_other_picture(tmp_path: Path) -> None:
    prompt = "A warrior dashes forward and slashes the enemy, epic orchestral music"
    run_scene(tmp_path / "a", prompt, style="cinematic")
    run_scene(tmp_path / "b", prompt, style="cinematic")
    run_scene(tmp_path / "c", prompt, seed=7, style="cinematic")
    first = (tmp_path / "a" / "scene" / "scene.png").read_bytes()
    assert first == (tmp_path / "b" / "scene" / "scene.png").read_bytes()
    assert first != (tmp_path / "c" / "scene" / "scene.png").read_bytes()


def test_styles_change_the_picture(tmp_path: Path) -> None:
    run_scene(tmp_path / "noir", "a city street at night", style="noir")
    noir = pixels(tmp_path / "noir")
    assert np.abs(noir[..., 0] - noir[..., 2]).max() < 2  # black and white
    run_scene(tmp_path / "cine", "a meadow", style="cinematic")
    assert pixels(tmp_path / "cine")[:8].max() == 0  # letterbox bars


def test_invalid_input_is_a_non_retryable_generator_error(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError) as info:
        run_scene(tmp_path, "", duration_s=3)
    assert info.value.code == "INVALID_INPUT"
    assert info.value.retryable is False
