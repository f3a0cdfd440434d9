"""The web media pipeline: prompt → plan → scene → motion → music → preview → export."""

from __future__ import annotations

from typing import Any

from montage.domain.pipelines import PipelineSpec, RetryPolicy, StageSpec
from montage.generators.builtin.media.input import MediaJobInput, MediaJobOptions, media_stages
from montage.pipelines import register_pipeline

_RETRY = RetryPolicy(max_attempts=2, backoff_s=0.5)


def select_media_stages(job_input: dict[str, Any]) -> list[str]:
    """The requested targets, in order, after planning (see ``media_stages`` for the rules)."""
    return ["plan", *media_stages(MediaJobOptions.model_validate(job_input.get("options") or {}))]


MEDIA = register_pipeline(PipelineSpec(
    name="media",
    version="1",
    description="Prompt → scene (PNG), motion (BVH), music (WAV), preview and export (MP4).",
    stages=(
        StageSpec("plan", "media.plan", retry=_RETRY),
        StageSpec("scene", "media.scene", retry=_RETRY),
        StageSpec("motion", "media.motion", retry=_RETRY),
        StageSpec("music", "media.music", retry=_RETRY),
        StageSpec("preview", "media.preview", retry=_RETRY),
        StageSpec("export", "media.export", retry=_RETRY),
    ),
    input_model=MediaJobInput,
    select_stages=select_media_stages,
    queue="media",
    facade="media",
))
