"""``video.upstream_submit`` and ``video.upstream_poll``: a video made by an upstream provider.

Two stages, so the engine checkpoints the upstream task id between them: after a restart
the poll stage resumes following the same task instead of submitting a second one. The
provider of each model comes from the ``video_upstream_models`` setting (see
:mod:`montage.generators.remote.upstream_video_config`). These stages use the network;
they are registered with the built-ins so every worker that loads generators has them.
"""

from __future__ import annotations

import base64
import mimetypes
import time
from collections.abc import Callable
from typing import Any, ClassVar

from montage.errors import GeneratorError
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.video.input import VIDEO_PATH, VideoJobInput, VideoPicture
from montage.generators.registry import register
from montage.generators.remote.upstream_video import UpstreamVideoClient
from montage.generators.remote.upstream_video_config import UpstreamVideoConfig, parse_upstream_models


class _NoConfig(GeneratorConfig):
    pass


#: How often (s) a poll stage asks whether its job was canceled while it waits (each ask reads the
#: database; 50 waiting tasks asking five times a second was most of an idle server's work).
CANCEL_CHECK_S = 2.0


def at_most_every(seconds: float, check: Callable[[], None]) -> Callable[[], None]:
    """``check``, called no more often than every ``seconds`` (the calls in between do nothing)."""
    last = -seconds

    def throttled() -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= seconds:
            last = now
            check()

    return throttled


def provider_for(ctx: StageContext, model: str) -> UpstreamVideoConfig:
    """The configured provider of ``model``; ``UPSTREAM_MISCONFIGURED`` if there is none (any more)."""
    try:
        models = parse_upstream_models(ctx.setting("video_upstream_models", {}) or {})
    except ValueError as exc:
        raise GeneratorError(str(exc), code="UPSTREAM_MISCONFIGURED", retryable=False) from None
    if model not in models:
        raise GeneratorError(f"model {model!r} has no upstream provider configured", code="UPSTREAM_MISCONFIGURED",
                             retryable=False)
    return models[model]


def _job_input(ctx: StageContext) -> VideoJobInput:
    try:
        return VideoJobInput.model_validate(ctx.input)
    except ValueError as exc:
        raise GeneratorError(f"invalid video job input: {exc}", code="INVALID_INPUT", retryable=False) from None


def picture_reference(ctx: StageContext, job: VideoJobInput, picture: VideoPicture, as_url: bool) -> str:
    """How the upstream gets a picture: a URL as given; an upload by its URL here, or as a data URI."""
    if picture.url is not None:
        return picture.url
    if as_url:
        if not job.asset_base_url:
            raise GeneratorError("sending uploaded pictures by URL needs MONTAGE_PUBLIC_URL",
                                 code="UPSTREAM_MISCONFIGURED", retryable=False)
        return f"{job.asset_base_url.rstrip('/')}/assets/{ctx.job_id}/{picture.path}"
    data = (ctx.workdir / str(picture.path)).read_bytes()
    mime = mimetypes.guess_type(str(picture.path))[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def submit_values(ctx: StageContext, job: VideoJobInput, provider: UpstreamVideoConfig) -> dict[str, Any]:
    """What the submit template's placeholders stand for."""
    refs = {p.role: picture_reference(ctx, job, p, provider.pictures_as == "url") for p in job.pictures}
    return {"model": provider.upstream_model or job.model, "prompt": job.prompt, "ratio": job.ratio,
            "resolution": job.resolution, "duration": job.duration, "function_mode": job.function_mode,
            "images": [refs[r] for r in ("first", "last") if r in refs], "first_image": refs.get("first"),
            "last_image": refs.get("last"), "montage_task_id": ctx.job_id}


@register
class UpstreamSubmitGenerator:
    """Starts the task upstream; outputs its id and when it was submitted."""

    name: ClassVar[str] = "video.upstream_submit"
    Config: ClassVar[type[GeneratorConfig]] = _NoConfig

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        job = _job_input(ctx)
        provider = provider_for(ctx, job.model)
        ctx.progress(10, "submitting upstream")
        with UpstreamVideoClient(provider) as client:
            task_id = client.submit(submit_values(ctx, job, provider), idempotency_key=ctx.job_id)
        ctx.log(f"upstream task {task_id} submitted for model {job.model}")
        ctx.progress(100, "submitted")
        return {"task_id": task_id, "submitted_at": time.time()}


@register
class UpstreamPollGenerator:
    """Follows the upstream task to its end and keeps the video in the job's folder."""

    name: ClassVar[str] = "video.upstream_poll"
    Config: ClassVar[type[GeneratorConfig]] = _NoConfig

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        job = _job_input(ctx)
        submitted = ctx.outputs.get("submit") or {}
        if "task_id" not in submitted:
            raise GeneratorError("no upstream task to follow", code="UPSTREAM_NO_TASK", retryable=False)
        provider = provider_for(ctx, job.model)
        with UpstreamVideoClient(provider) as client:
            url = client.follow(str(submitted["task_id"]), float(submitted.get("submitted_at", time.time())),
                                ctx.path(VIDEO_PATH), ctx.progress,
                                at_most_every(CANCEL_CHECK_S, ctx.check_cancelled))
        ctx.add_artifact(VIDEO_PATH, role="video", mime="video/mp4")
        ctx.progress(100, "video ready")
        return {"path": VIDEO_PATH, "task_id": submitted["task_id"], "source_url": url[:500]}
