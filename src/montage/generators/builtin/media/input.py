"""The web-media job's input (``POST /api/jobs`` body) and which stages it runs.

``{"prompt": str, "options": {"targets": [...], "duration_s": float, "style": str | None,
"mood": str | None, "export_video": bool}}`` — see ``shared/seeds/web-media-jobs-api.md``.

The longest accepted ``duration_s`` is a server setting; pass it as validation context::

    MediaJobInput.model_validate(body, context={"max_duration_s": 120})
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

Target = Literal["scene", "motion", "music", "preview", "export"]
#: Every stage of the pipeline, in the order they run.
STAGE_ORDER: tuple[Target, ...] = ("scene", "motion", "music", "preview", "export")
DEFAULT_TARGETS: tuple[Target, ...] = ("scene", "motion", "music")
DEFAULT_DURATION_S = 8.0
DEFAULT_MAX_DURATION_S = 600.0
#: Shortest clip: three motion frames at 30 fps.
MIN_DURATION_S = 0.1
MAX_DURATION_CONTEXT_KEY = "max_duration_s"
VISUAL_TARGETS = ("scene", "motion")


class MediaJobOptions(BaseModel):
    """``options`` of a web-media job; every field may be left out."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    targets: list[Target] = Field(
        default_factory=lambda: list(DEFAULT_TARGETS), min_length=1,
        description="What to produce, any of scene, motion, music, preview, export.",
    )
    # strict: the contract's types are JSON number and boolean; "12" or true for a duration and
    # "yes" for export_video are wrong types (400 naming the field), not values to coerce.
    duration_s: float = Field(DEFAULT_DURATION_S, ge=MIN_DURATION_S, strict=True,
                              description="Length of motion, music and video, in seconds.")
    style: str | None = Field(None, max_length=200, description="Visual style, e.g. cinematic, anime.")
    mood: str | None = Field(None, max_length=200, description="Mood, e.g. epic, calm.")
    export_video: bool = Field(True, strict=True, description="Whether to compose and export a video.")

    @field_validator("targets")
    @classmethod
    def _dedupe_targets(cls, targets: list[Target]) -> list[Target]:
        return [t for t in STAGE_ORDER if t in targets]

    @field_validator("duration_s")
    @classmethod
    def _not_too_long(cls, value: float, info: ValidationInfo) -> float:
        limit = float((info.context or {}).get(MAX_DURATION_CONTEXT_KEY, DEFAULT_MAX_DURATION_S))
        if value > limit:
            raise ValueError(f"duration_s must be at most {limit:g} seconds")
        return value

    @model_validator(mode="after")
    def _video_targets_make_sense(self) -> MediaJobOptions:
        video = [t for t in ("preview", "export") if t in self.targets]
        if video and not any(t in self.targets for t in VISUAL_TARGETS):
            raise ValueError(f"targets {video} need 'scene' or 'motion' as well")
        if "export" in self.targets and not self.export_video:
            raise ValueError("target 'export' conflicts with export_video=false")
        return self


class MediaJobInput(BaseModel):
    """The body of ``POST /api/jobs``."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=4000, description="What to make.")
    options: MediaJobOptions = Field(default_factory=lambda: MediaJobOptions.model_validate({}))

    @field_validator("prompt")
    @classmethod
    def _prompt_has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must not be blank")
        return value


def parse_media_input(data: Any, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> MediaJobInput:
    """Validate a job body; raises ``pydantic.ValidationError`` naming the bad field."""
    return MediaJobInput.model_validate(data, context={MAX_DURATION_CONTEXT_KEY: max_duration_s})


def media_stages(options: MediaJobOptions) -> list[str]:
    """The stages a job runs, in order: scene → motion → music → preview → export.

    Rules:

    1. ``scene``, ``motion`` and ``music`` run when listed in ``targets``.
    2. ``export`` (full-resolution MP4) runs when ``export_video`` is true and either
       ``export`` is listed or ``scene`` is (a job that asks for a picture gets its video by
       default, as in the contract's example B, which must say ``export_video: false`` to
       avoid one; a motion + music job, example A, gets none unless it lists ``export``).
    3. ``preview`` (small MP4) runs when listed, and always before an ``export``: it is the
       quick look a client shows while the export renders.
    4. Validation already refused ``preview``/``export`` without ``scene`` or ``motion``
       (nothing to show) and ``export`` with ``export_video: false``.
    """
    wanted = set(options.targets)
    if options.export_video and ("export" in wanted or "scene" in wanted):
        wanted.add("export")
    if "export" in wanted:
        wanted.add("preview")
    return [stage for stage in STAGE_ORDER if stage in wanted]
