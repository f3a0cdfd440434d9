"""``media.scene``: a composed backdrop (``scene/scene.png``) from the prompt's analysis.

Layers, back to front: sky gradient by time of day → sun or moon → stars (night, space) →
clouds → the setting's far layers (mountains, skylines, dunes, tree lines, the sea) →
textured ground → the setting's near layers (a dojo, banners, trees, palms, rocks) → wet
reflections → weather (rain, snow, fog, haze) → bloom and the style's grade. Which far and
near layers a setting has is the :data:`SETTING_LAYERS` table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from PIL import Image
from pydantic import Field

from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.media import scene_buildings as built
from montage.generators.builtin.media import scene_land as land
from montage.generators.builtin.media.common import STAGE_FILES, load_job, report, stage_rng
from montage.generators.builtin.media.palette import scene_palette
from montage.generators.builtin.media.prompt import PromptAnalysis
from montage.generators.builtin.media.scene_canvas import Canvas, ellipse
from montage.generators.builtin.media.scene_grade import grade, to_rgb8
from montage.generators.builtin.media.scene_ground import paint_ground, wet_reflection
from montage.generators.builtin.media.scene_sky import (
    paint_clouds,
    paint_nebula,
    paint_planet,
    paint_sky,
    paint_stars,
    paint_sun,
    sun_position,
)
from montage.generators.builtin.media.scene_weather import paint_weather
from montage.generators.registry import register

Layer = Callable[[Canvas], object]
#: Where the horizon is, as a fraction of the height, by setting (0.62 otherwise).
HORIZON = {"space": 0.7, "beach": 0.55, "mountains": 0.66}
#: Where a figure's feet go, as a fraction of the height (the video stages use it).
FLOOR = 0.87


def _near_trees(canvas: Canvas) -> None:
    """Big trees at the edges of the frame, leaving the middle free for the figure."""
    base = canvas.horizon + (canvas.height - canvas.horizon) * 0.45
    for x in (0.04, 0.12, 0.9, 0.97):
        land.conifer(canvas, x * canvas.width, base + canvas.rng.uniform(-8, 8) * canvas.unit,
                     canvas.height * canvas.rng.uniform(0.55, 0.75), canvas.palette.far(0.05))


def _craters(canvas: Canvas) -> None:
    for _ in range(14):
        y = canvas.rng.uniform(canvas.horizon + 10, canvas.height)
        near = (y - canvas.horizon) / (canvas.height - canvas.horizon)
        rx = canvas.unit * (20 + 160 * near) * canvas.rng.uniform(0.5, 1.2)
        x = canvas.rng.uniform(0, canvas.width)
        ellipse(canvas, x, y, rx, rx * 0.25, canvas.palette.far(0.1), opacity=0.5)
        ellipse(canvas, x, y + rx * 0.04, rx * 0.85, rx * 0.18, canvas.palette.ground_far, opacity=0.35)


def _palms(canvas: Canvas) -> None:
    for x in (0.08, 0.93):
        land_y = canvas.height * 0.97
        built.palm(canvas, x * canvas.width, land_y, canvas.height * 0.62, canvas.palette.far(0.02))


def _dojo_far(canvas: Canvas) -> None:
    if canvas.analysis.palette == "neon":
        built.skyline(canvas, 0.8, 0.4, 0.95)
        built.skyline(canvas, 0.55, 0.45, 0.7)
    else:
        land.mountain_range(canvas, 0.8, 0.5, 800)
        land.tree_line(canvas, 0.5, 30, canvas.horizon + 4, 150 * canvas.unit)


def _ground_rocks(count: int) -> Layer:
    """Boulders scattered over the ground."""
    return lambda c: land.rocks(c, count, c.horizon + 8, c.height, c.palette.far(0.25))


SETTING_LAYERS: dict[str, tuple[list[Layer], list[Layer]]] = {
    "dojo": ([_dojo_far], [built.dojo]),
    "city": ([lambda c: built.skyline(c, 0.75, 0.45, 0.95), lambda c: built.skyline(c, 0.45, 0.55, 0.7)], []),
    "forest": ([lambda c: land.mountain_range(c, 0.8, 0.45, 700),
                lambda c: land.tree_line(c, 0.65, 70, c.horizon + 2, 130 * c.unit),
                lambda c: land.tree_line(c, 0.45, 40, c.horizon + 12 * c.unit, 230 * c.unit)], [_near_trees]),
    "desert": ([lambda c: land.mountain_range(c, 0.85, 0.22, 900, sharp=False), land.dunes],
               [_ground_rocks(4)]),
    "beach": ([lambda c: land.hills(c, 0.85, 0.06, 300, c.palette.structure),
               lambda c: land.sea(c, 0.42)], [_palms]),
    "mountains": ([lambda c: land.mountain_range(c, 0.8, 0.85, 900, snow=True),
                   lambda c: land.mountain_range(c, 0.55, 0.6, 650, snow=True),
                   lambda c: land.mountain_range(c, 0.3, 0.35, 450)], [_ground_rocks(10)]),
    "space": ([paint_nebula, paint_planet, lambda c: land.mountain_range(c, 0.6, 0.12, 380)],
              [_craters, _ground_rocks(8)]),
    "battlefield": ([lambda c: land.mountain_range(c, 0.85, 0.6, 800),
                     lambda c: land.mountain_range(c, 0.55, 0.3, 520),
                     lambda c: land.hills(c, 0.3, 0.08, 500, c.palette.ground_far),
                     lambda c: built.fires(c, 9)], [lambda c: built.banners(c, 7), _ground_rocks(12)]),
    "plains": ([lambda c: land.mountain_range(c, 0.85, 0.35, 900, sharp=False),
                lambda c: land.hills(c, 0.55, 0.16, 600, c.palette.ground_far),
                lambda c: land.tree_line(c, 0.5, 14, c.horizon + 6, 110 * c.unit, kind="round")],
               [_ground_rocks(6)]),
}


def _sky(canvas: Canvas) -> None:
    paint_sky(canvas)
    analysis = canvas.analysis
    megapixels = canvas.width * canvas.height / 1e6
    sun_position(canvas)
    if analysis.setting == "space":
        paint_stars(canvas, int(2500 * megapixels))
        return
    if analysis.time_of_day == "night" and analysis.weather == "clear":
        paint_stars(canvas, int(700 * megapixels))
    paint_sun(canvas)
    paint_clouds(canvas)


def render_scene(analysis: PromptAnalysis, width: int, height: int, rng: np.random.Generator,
                 on_step: Callable[[float, str], None] | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """Paint the scene; returns the 8-bit RGB image and its geometry (horizon, floor, sun)."""
    step = on_step or (lambda _pct, _msg: None)
    canvas = Canvas.blank(width, height, HORIZON.get(analysis.setting, 0.62), scene_palette(analysis),
                          analysis, rng)
    far, near = SETTING_LAYERS[analysis.setting]
    _sky(canvas)
    step(20, "sky")
    for layer in far:
        layer(canvas)
    step(45, f"{analysis.setting} background")
    paint_ground(canvas)
    for layer in near:
        layer(canvas)
    wet_reflection(canvas)
    step(65, "ground")
    paint_weather(canvas)
    step(80, f"weather: {analysis.weather}")
    grade(canvas)
    geometry = {"horizon": canvas.horizon / height, "floor": FLOOR,
                "sun_x": canvas.notes["sun_x"] / width, "sun_y": canvas.notes["sun_y"] / height}
    return to_rgb8(canvas), geometry


class SceneConfig(GeneratorConfig):
    """Size of the scene picture."""

    width: int = Field(1920, ge=64, le=7680, description="Width in pixels (even).")
    height: int = Field(1080, ge=64, le=4320, description="Height in pixels (even).")


@register
class SceneGenerator:
    """Paints ``scene/scene.png`` from the prompt's setting, time, weather, style and mood."""

    name: ClassVar[str] = "media.scene"
    Config: ClassVar[type[GeneratorConfig]] = SceneConfig

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        cfg = config if isinstance(config, SceneConfig) else SceneConfig.model_validate(config or {})
        _job, analysis = load_job(ctx)
        report(ctx, 5, f"Painting a {analysis.time_of_day} {analysis.setting} scene")
        ctx.log(f"scene: setting={analysis.setting} time={analysis.time_of_day} weather={analysis.weather} "
                f"style={analysis.style} palette={analysis.palette}")
        image, geometry = render_scene(analysis, cfg.width // 2 * 2, cfg.height // 2 * 2,
                                       stage_rng(ctx, "scene"), lambda pct, msg: report(ctx, pct, msg))
        relpath = STAGE_FILES["scene"]
        Image.fromarray(image).save(ctx.path(relpath), format="PNG", compress_level=1)
        ctx.add_artifact(relpath, role="scene", mime="image/png")
        report(ctx, 100, "scene ready")
        return {"path": relpath, "width": image.shape[1], "height": image.shape[0], **geometry,
                "analysis": analysis.to_dict()}
