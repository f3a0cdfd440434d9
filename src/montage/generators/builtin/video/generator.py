"""``video.render``: the built-in text (and first/last frame) to video stage.

Reads the job's :class:`~.input.VideoJobInput`, paints the scene, renders
``video/video.mp4`` (H.264, the requested ratio × resolution, 24 fps) and declares it. The
file is written under a temporary name and renamed when complete, so a canceled or failed
run never leaves half a video behind.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, ValidationError

from montage.errors import GeneratorError
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.video.frames import fit_picture
from montage.generators.builtin.video.input import VIDEO_PATH, VideoJobInput, load_picture
from montage.generators.builtin.video.render import RenderRequest, render_video
from montage.generators.builtin.video.spec import FPS, RATIOS, RESOLUTIONS, frame_size
from montage.generators.builtin.video.words import read_brief
from montage.generators.registry import register


class RenderConfig(GeneratorConfig):
    """Frame rate and x264 settings of the built-in video."""

    fps: int = Field(FPS, ge=1, le=60, description="Frames per second.")
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = Field(
        "ultrafast", description="x264 speed preset (ultrafast keeps 720p faster than real time on 2 cores).")
    crf: int = Field(23, ge=0, le=51, description="x264 constant rate factor (lower is better).")
    fetch_timeout_s: float = Field(20.0, gt=0, le=300, description="Timeout to fetch a picture by URL.")


def read_input(ctx: StageContext) -> VideoJobInput:
    """The job input; ``INVALID_INPUT`` (not retried) if it does not validate."""
    try:
        job = VideoJobInput.model_validate(ctx.input)
    except ValidationError as exc:
        raise GeneratorError(f"invalid video job input: {exc.errors()[0]['msg']}", code="INVALID_INPUT",
                             retryable=False) from None
    if job.ratio not in RATIOS or job.resolution not in RESOLUTIONS:
        raise GeneratorError(f"ratio {job.ratio} / resolution {job.resolution} is not one the built-in model makes",
                             code="INVALID_INPUT", retryable=False)
    return job


def _pictures(ctx: StageContext, job: VideoJobInput, size: tuple[int, int], timeout_s: float
              ) -> dict[str, np.ndarray]:
    pictures: dict[str, np.ndarray] = {}
    for picture in job.pictures:
        ctx.check_cancelled()
        image = load_picture(ctx.workdir, picture, timeout_s)
        pictures[picture.role] = fit_picture(image, *size)
    return pictures


@register
class VideoRenderGenerator:
    """Writes ``video/video.mp4`` from the prompt (and the first/last pictures, if any)."""

    name: ClassVar[str] = "video.render"
    Config: ClassVar[type[GeneratorConfig]] = RenderConfig

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        cfg = config if isinstance(config, RenderConfig) else RenderConfig.model_validate(config or {})
        job = read_input(ctx)
        width, height = frame_size(job.ratio, job.resolution)
        brief = read_brief(job.prompt, ctx.seed)
        ctx.log(f"video: {width}×{height}, {job.duration}s at {cfg.fps} fps; scene {brief.analysis.setting}, "
                f"{brief.analysis.time_of_day}, {brief.analysis.weather}; camera {brief.camera.kind}; "
                f"lights {', '.join(sorted(brief.lights)) or 'none'}")
        ctx.progress(2, "reading pictures" if job.pictures else "painting the scene")
        pictures = _pictures(ctx, job, (width, height), cfg.fetch_timeout_s)
        request = RenderRequest(width, height, float(job.duration), cfg.fps, pictures.get("first"),
                                pictures.get("last"), cfg.preset, cfg.crf)
        target = ctx.path(VIDEO_PATH)
        partial = target.with_name(f".{target.name}.part")

        def progress(percent: float, message: str) -> None:
            ctx.check_cancelled()
            ctx.progress(percent, message)

        try:
            result = render_video(brief, request, partial, ctx.seed, progress)
            partial.replace(target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        ctx.add_artifact(VIDEO_PATH, role="video", mime="video/mp4")
        ctx.progress(100, "video ready")
        return {"path": VIDEO_PATH, "width": width, "height": height, "fps": cfg.fps, "frames": result.frames,
                "duration_s": result.frames / cfg.fps, "prepare_s": round(result.prepare_s, 3),
                "encode_s": round(result.encode_s, 3)}
