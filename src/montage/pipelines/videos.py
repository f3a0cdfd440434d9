"""Video generation (the async video contract): the built-in model and upstream models.

- ``video-local``: one stage, ``render`` (``video.render``), offline on the CPU.
- ``video-upstream``: ``submit`` (``video.upstream_submit``) then ``poll``
  (``video.upstream_poll``); the upstream task id is checkpointed between them.

Which models exist is the :func:`video_catalog`: the built-in ``montage-local`` plus every
model of the ``video_upstream_models`` setting, each with the ratios, resolutions, durations
and function modes it accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from montage.domain.jobs import Job, StageStatus
from montage.domain.pipelines import PipelineSpec, RetryPolicy, StageSpec
from montage.generators.builtin.video.input import VIDEO_PATH, VideoJobInput
from montage.generators.builtin.video.spec import RATIOS, RESOLUTIONS
from montage.generators.remote.upstream_video import FAIL_PREFIX, NOTICE
from montage.generators.remote.upstream_video_config import parse_upstream_models
from montage.pipelines import register_pipeline

__all__ = ["BUILTIN_MODEL", "FAIL_PREFIX", "NOTICE", "VIDEO_PATH", "VideoJobInput", "VideoModel", "video_catalog",
           "work_progress"]

BUILTIN_MODEL = "montage-local"
FACADE = "videos"

VIDEO_LOCAL = register_pipeline(PipelineSpec(
    name="video-local",
    version="1",
    description="Prompt (and first/last frames) → MP4, rendered on the CPU with no model weights.",
    stages=(StageSpec("render", "video.render", retry=RetryPolicy(max_attempts=2)),),
    input_model=VideoJobInput,
    facade=FACADE,
))

VIDEO_UPSTREAM = register_pipeline(PipelineSpec(
    name="video-upstream",
    version="1",
    description="Prompt → MP4 by an upstream submit-then-poll provider; the video is kept in montage's assets.",
    stages=(StageSpec("submit", "video.upstream_submit", retry=RetryPolicy(max_attempts=3, backoff_s=1.0)),
            StageSpec("poll", "video.upstream_poll", retry=RetryPolicy(max_attempts=1))),
    input_model=VideoJobInput,
    facade=FACADE,
))

#: The stage whose progress is the task's progress, per pipeline.
WORK_STAGE = {VIDEO_LOCAL.name: "render", VIDEO_UPSTREAM.name: "poll"}


@dataclass(frozen=True)
class VideoModel:
    """A model the video API offers, and what a request for it may ask."""

    name: str
    pipeline: str
    ratios: tuple[str, ...]
    resolutions: tuple[str, ...]
    min_duration: int
    max_duration: int
    function_modes: tuple[str, ...]


def video_catalog(upstream: Mapping[str, Any], max_duration_s: float) -> dict[str, VideoModel]:
    """Every model by name; ``ValueError`` if the upstream setting does not validate."""
    longest = max(1, int(max_duration_s))
    models = {BUILTIN_MODEL: VideoModel(BUILTIN_MODEL, VIDEO_LOCAL.name, RATIOS, tuple(RESOLUTIONS), 1,
                                        min(60, longest), ("first_last_frames",))}
    for name, config in parse_upstream_models(upstream).items():
        models[name] = VideoModel(name, VIDEO_UPSTREAM.name, tuple(config.ratios), tuple(config.resolutions),
                                  config.min_duration, min(config.max_duration, longest),
                                  tuple(config.function_modes))
    return models


def work_progress(job: Job) -> float:
    """Progress (0–100) of the stage doing the work (the render, or following the upstream task)."""
    name = WORK_STAGE.get(job.pipeline)
    stage = job.stage(name) if name else None
    if stage is None:
        return job.progress
    if stage.status == StageStatus.SUCCEEDED:
        return 100.0
    if job.current_stage != name:
        return 0.0
    count = max(1, len(job.stages))
    return max(0.0, min(100.0, (job.progress / 100.0 * count - stage.position) * 100.0))


def video_path(job: Job) -> str | None:
    """Where the finished video is in the job's folder."""
    name = WORK_STAGE.get(job.pipeline)
    stage = job.stage(name) if name else None
    return str(stage.outputs.get("path", VIDEO_PATH)) if stage is not None and stage.outputs else None
