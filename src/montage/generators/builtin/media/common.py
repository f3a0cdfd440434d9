"""What every media stage does first: read the job input, seed, find earlier files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from montage.errors import GeneratorError
from montage.generators.base import StageContext
from montage.generators.builtin.media.input import DEFAULT_MAX_DURATION_S, MediaJobInput, parse_media_input
from montage.generators.builtin.media.prompt import PromptAnalysis, analyse_prompt

#: Where each stage writes its file, relative to the job folder.
STAGE_FILES = {
    "scene": "scene/scene.png",
    "motion": "motion/motion.bvh",
    "music": "music/music.wav",
    "preview": "preview/preview.mp4",
    "export": "export/export.mp4",
}
#: A different random stream per stage, so adding draws to one never changes another.
STAGE_SALT = {"scene": 11, "motion": 23, "music": 37, "preview": 41, "export": 53}


def load_job(ctx: StageContext) -> tuple[MediaJobInput, PromptAnalysis]:
    """The validated job input and its prompt analysis; ``INVALID_INPUT`` if it does not validate."""
    limit = float(ctx.setting("max_media_duration_s", DEFAULT_MAX_DURATION_S))
    try:
        job = parse_media_input(ctx.input, max_duration_s=limit)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "input"
        raise GeneratorError(f"invalid media job input: {where}: {error['msg']}", code="INVALID_INPUT",
                             retryable=False, field=where) from None
    options = job.options
    return job, analyse_prompt(job.prompt, style=options.style, mood=options.mood)


def stage_rng(ctx: StageContext, stage: str) -> np.random.Generator:
    """The random generator of ``stage`` for this job's seed."""
    return np.random.default_rng([int(ctx.seed) & 0xFFFFFFFF, STAGE_SALT[stage]])


def earlier_file(ctx: StageContext, stage: str) -> Path | None:
    """The file an earlier stage wrote (from its outputs, else its usual place), if it exists."""
    outputs: dict[str, Any] = ctx.outputs.get(stage) or {}
    relpath = outputs.get("path") or STAGE_FILES[stage]
    candidate = ctx.workdir / str(relpath)
    return candidate if candidate.is_file() else None


def report(ctx: StageContext, percent: float, message: str) -> None:
    """Report progress and honour a cancel at the same point."""
    ctx.check_cancelled()
    ctx.progress(percent, message)
