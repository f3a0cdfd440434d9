"""Built-in video internals: coverage-tracking canvas, planar layers, compositing, effects."""

from __future__ import annotations

import numpy as np
import pytest

from montage.generators.builtin.media.palette import scene_palette
from montage.generators.builtin.media.prompt import analyse_prompt
from montage.generators.builtin.video.camera import Crop
from montage.generators.builtin.video.compositor import Planes, blend, compose, new_frame
from montage.generators.builtin.video.layers import OPAQUE, CoverCanvas, planar_layer, scene_layers
from montage.generators.builtin.video.lights import Light


def cover_canvas(width: int = 8, height: int = 4) -> CoverCanvas:
    analysis = analyse_prompt("a meadow")
    shape = (height, width, 3)
    return CoverCanvas(rgb=np.zeros(shape, np.float32), glow=np.zeros(shape, np.float32), horizon=2,
                       palette=scene_palette(analysis), analysis=analysis, rng=np.random.default_rng(0),
                       cover=np.zeros(shape[:2], np.float32))


def test_painting_on_black_gives_premultiplied_colour_and_its_coverage() -> None:
    canvas = cover_canvas()
    half = np.full((4, 4), 0.5, np.float32)
    canvas.paint(half, (1.0, 0.5, 0.0))
    canvas.paint(half, (1.0, 0.5, 0.0), left=2)

    assert canvas.cover[0, 0] == pytest.approx(0.5) and canvas.cover[0, 3] == pytest.approx(0.75)
    assert canvas.cover[0, 7] == 0.0
    straight = canvas.rgb[0, 3] / canvas.cover[0, 3]
    assert straight == pytest.approx([1.0, 0.5, 0.0])


def test_bands_are_skipped_copied_or_blended() -> None:
    rgb = np.zeros((48, 8, 3), np.uint8)
    cover = np.zeros((48, 8), np.float32)
    cover[16:32, :4] = 0.5
    cover[32:] = 1.0
    layer = planar_layer(rgb, cover, 1.0)
    assert [kind for _, _, kind in layer.bands] == ["empty", "mixed", "opaque"]
    assert layer.opaque_from() == 32 and int(layer.alpha.max()) == OPAQUE  # type: ignore[union-attr]


def test_blend_moves_towards_the_source_by_alpha() -> None:
    dst = np.array([0, 100, 200, 255], np.uint8)
    blend(dst, np.array([255, 100, 0, 0], np.uint8), np.full(4, 64, np.int16))
    assert dst.tolist() == [127, 100, 100, 127]


def test_composing_the_layers_reproduces_the_scene_they_were_cut_from() -> None:
    analysis = analyse_prompt("forest at sunset")
    scene = scene_layers(analysis, 320, 180, np.random.default_rng(1), (0.1, 1.0))
    frame = compose(scene.layers, Crop(320, 180, 0, (0,) * len(scene.layers)))
    planes = Planes.of(frame)
    sky, near = scene.layers[0], scene.layers[-1]
    assert len(scene.layers) == 4  # sky, far range, nearer tree lines, ground with trees
    assert np.array_equal(planes.y[:8, 100:220], sky.y[:8, 100:220])  # mid-sky: nothing in front
    assert np.array_equal(planes.y[-8:], near.y[-8:, :320])  # the ground covers everything behind it


def test_lightning_lights_the_frame_then_fades() -> None:
    light = Light(frozenset({"lightning"}), 3.0, np.random.default_rng(0))
    strike = light.flashes[0]
    _frame, planes = new_frame(64, 32)
    planes.y[...], planes.u[...], planes.v[...] = 60, 100, 150
    light.apply(planes, 0, strike + 0.21)
    assert planes.y.mean() > 150 and abs(int(planes.v[0, 0]) - 128) < 22
    assert light.flash(strike + 0.9) == 0.0
