"""The web-media job input model and the stage rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from montage.generators.builtin.media.input import MediaJobInput, MediaJobOptions, media_stages, parse_media_input


def test_defaults() -> None:
    job = MediaJobInput.model_validate({"prompt": "a dojo"})
    assert job.options.targets == ["scene", "motion", "music"]
    assert job.options.duration_s == 8.0
    assert job.options.export_video is True
    assert job.options.style is None and job.options.mood is None


def test_targets_are_deduplicated_into_stage_order() -> None:
    options = MediaJobOptions.model_validate({"targets": ["music", "motion", "music"]})
    assert options.targets == ["motion", "music"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x", "options": {"targets": ["video"]}}, "targets"),
        ({"prompt": "x", "options": {"targets": []}}, "targets"),
        ({"prompt": "x", "options": {"duration_s": 0}}, "duration_s"),
        ({"prompt": "x", "options": {"duration_s": float("nan")}}, "duration_s"),
        ({"prompt": "x", "options": {"duration_s": 10_000}}, "duration_s"),
        ({"prompt": "x", "options": {"colour": "red"}}, "colour"),
        ({"prompt": "x", "options": {"duration_s": "12"}}, "duration_s"),
        ({"prompt": "x", "options": {"duration_s": True}}, "duration_s"),
        ({"prompt": "x", "options": {"export_video": "yes"}}, "export_video"),
        ({"prompt": "x", "options": {"export_video": 1}}, "export_video"),
    ],
)
def test_bad_input_names_the_field(body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_media_input(body)
    assert field in str(info.value)


def test_numbers_are_numbers_whole_or_not() -> None:
    assert parse_media_input({"prompt": "x", "options": {"duration_s": 12}}).options.duration_s == 12.0
    assert parse_media_input({"prompt": "x", "options": {"duration_s": 2.5}}).options.duration_s == 2.5


def test_max_duration_is_configurable() -> None:
    body = {"prompt": "x", "options": {"duration_s": 30}}
    assert parse_media_input(body, max_duration_s=60).options.duration_s == 30
    with pytest.raises(ValidationError, match="at most 20"):
        parse_media_input(body, max_duration_s=20)


def test_video_targets_need_something_to_show() -> None:
    with pytest.raises(ValidationError, match="scene' or 'motion"):
        MediaJobOptions.model_validate({"targets": ["music", "preview"]})


def test_export_target_conflicts_with_export_video_false() -> None:
    with pytest.raises(ValidationError, match="export_video"):
        MediaJobOptions.model_validate({"targets": ["scene", "export"], "export_video": False})


@pytest.mark.parametrize(
    ("options", "stages"),
    [
        # contract example A: motion + music, no picture → no video
        ({"targets": ["motion", "music"], "duration_s": 8}, ["motion", "music"]),
        # contract example B: export_video false → no video
        ({"targets": ["scene", "motion", "music"], "export_video": False}, ["scene", "motion", "music"]),
        # contract request 5.1: a picture and export_video true → preview then export
        ({"targets": ["scene", "motion", "music"], "export_video": True},
         ["scene", "motion", "music", "preview", "export"]),
        ({"targets": ["motion", "preview"]}, ["motion", "preview"]),
        ({"targets": ["motion", "export"]}, ["motion", "preview", "export"]),
        ({"targets": ["scene", "preview"], "export_video": False}, ["scene", "preview"]),
    ],
)
def test_media_stages(options: dict, stages: list[str]) -> None:
    assert media_stages(MediaJobOptions.model_validate(options)) == stages
