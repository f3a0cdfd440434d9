"""Built-in video: frame sizes per ratio × resolution, and what a prompt asks for."""

from __future__ import annotations

from fractions import Fraction

import pytest

from montage.generators.builtin.video.camera import CameraPath, ease
from montage.generators.builtin.video.spec import RATIOS, RESOLUTIONS, frame_size, parse_ratio
from montage.generators.builtin.video.words import camera_move, english_hints, read_brief


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("resolution", list(RESOLUTIONS))
def test_frame_size_has_the_resolution_as_shorter_side_and_even_sides(ratio: str, resolution: str) -> None:
    width, height = frame_size(ratio, resolution)
    assert min(width, height) == RESOLUTIONS[resolution]
    assert width % 2 == 0 and height % 2 == 0
    assert abs(Fraction(width, height) - parse_ratio(ratio)) < Fraction(2, min(width, height))
    assert (width >= height) == (parse_ratio(ratio) >= 1)


def test_well_known_sizes() -> None:
    assert frame_size("16:9", "720p") == (1280, 720)
    assert frame_size("16:9", "1080p") == (1920, 1080)
    assert frame_size("16:9", "480p") == (854, 480)
    assert frame_size("9:16", "720p") == (720, 1280)
    assert frame_size("21:9", "1080p") == (2520, 1080)
    assert frame_size("1:1", "480p") == (480, 480)


@pytest.mark.parametrize("bad", ["16x9", "0:9", "a:b", "16:", ""])
def test_a_malformed_ratio_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_ratio(bad)


def test_chinese_prompts_paint_the_same_scene_as_english_ones() -> None:
    chinese = read_brief("雨夜的城市街道", seed=1).analysis
    english = read_brief("city street, rainy night", seed=1).analysis
    assert (chinese.setting, chinese.time_of_day, chinese.weather) == ("city", "night", "rain")
    assert (english.setting, english.time_of_day, english.weather) == ("city", "night", "rain")
    assert english_hints("暴雨中的雪山, 夜") == "heavy rain mountain night"
    assert read_brief("暴雨中的雪山", seed=1).analysis.weather == "rain"


@pytest.mark.parametrize(("prompt", "kind", "direction"), [
    ("the camera pans left over the valley", "pan_left", -1),
    ("镜头向右移动", "pan_right", 1),
    ("slow zoom in on the temple", "zoom_in", 1),
    ("拉远 展示全景", "zoom_out", 1),
    ("a static shot of the sea", "static", 1),
    ("tracking shot through the forest", "orbit", 1),
])
def test_camera_cues(prompt: str, kind: str, direction: int) -> None:
    move = camera_move(prompt.lower(), speed=1.0, seed=1)
    assert move.kind == kind
    if kind.startswith("pan"):
        assert move.direction == direction and move.pan > 0
    if kind == "zoom_in":
        assert move.zoom_to > move.zoom_from
    if kind == "zoom_out":
        assert move.zoom_from > move.zoom_to
    if kind == "static":
        assert move.pan == 0 and move.zoom_from == move.zoom_to == 1.0


def test_without_a_cue_the_camera_pans_in_a_direction_set_by_the_seed() -> None:
    directions = {camera_move("a meadow", 1.0, seed).direction for seed in range(4)}
    assert directions == {-1, 1}
    assert camera_move("a meadow", 1.0, 3).kind == "default"


@pytest.mark.parametrize(("prompt", "lights"), [
    ("a storm over the sea", {"lightning"}),
    ("雷雨中的城市", {"lightning"}),
    ("candle light flickering in the temple", {"flicker"}),
    ("sunrise over snowy mountains", {"sunrise"}),
    ("海边日落", {"sunset"}),
    ("sun beams through the forest", {"rays"}),
    ("a quiet meadow", set()),
])
def test_light_cues(prompt: str, lights: set[str]) -> None:
    assert read_brief(prompt, seed=0).lights == lights


def test_the_camera_path_stays_inside_the_layers() -> None:
    move = camera_move("pan right and zoom in", 1.0, 0)
    path = CameraPath(move, 1280, 720)
    for step in range(11):
        crop = path.crop(step / 10, (0.1, 0.5, 1.0))
        for left in crop.lefts:
            assert 0 <= left <= path.layer_width - crop.width
        assert crop.top + crop.height <= 720 and crop.width % 2 == 0 and crop.height % 2 == 0
    assert ease(0) == 0 and ease(1) == 1 and ease(0.5) == pytest.approx(0.5)


def test_near_layers_move_further_than_far_ones() -> None:
    path = CameraPath(camera_move("pan right", 1.0, 0), 1280, 720)
    start, end = path.crop(0.0, (0.1, 0.5, 1.0)), path.crop(1.0, (0.1, 0.5, 1.0))
    moved = [b - a for a, b in zip(start.lefts, end.lefts, strict=True)]
    assert 0 < moved[0] < moved[1] < moved[2]
