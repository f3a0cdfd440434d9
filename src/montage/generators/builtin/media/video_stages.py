"""``media.preview`` and ``media.export``: the scene, the animated skeleton and the music in one MP4.

Both stages compose the same way (:func:`render_video`) and differ in size and encoder
settings: the preview is small and quick to show (640×360), the export is the scene's
full size (1920×1080 without a scene). What a stage finds, it uses:

- the scene picture as backdrop, else a plain studio backdrop in the prompt's palette;
- the BVH skeleton, drawn over the backdrop, else none (a still picture);
- the music as the AAC track, else silence (so every file has H.264 + AAC streams).

The file is written under a temporary name and renamed when complete, so a canceled or
failed stage never leaves a half-written video behind.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Literal

import numpy as np
from PIL import Image
from pydantic import Field

from montage.errors import GeneratorError
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.media.bvh import BvhError, read_bvh
from montage.generators.builtin.media.common import STAGE_FILES, earlier_file, load_job, report
from montage.generators.builtin.media.figure import FigureStyle, ProjectedFigure, project
from montage.generators.builtin.media.palette import accent_rgb8, scene_palette
from montage.generators.builtin.media.prompt import PromptAnalysis
from montage.generators.builtin.media.scene import FLOOR
from montage.generators.builtin.media.video import SAMPLE_RATE, FrameComposer, Mp4Writer, X264Settings, read_wav
from montage.generators.registry import register

Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]


class VideoConfig(GeneratorConfig):
    """Size, frame rate and x264 settings of a video stage."""

    width: int | None = Field(None, ge=64, le=7680, description="Width (even); None: the stage's default.")
    height: int | None = Field(None, ge=64, le=4320, description="Height (even); None: the stage's default.")
    fps: int = Field(24, ge=1, le=60, description="Frames per second (x264 time grows with it).")
    preset: Preset = Field("veryfast", description="x264 speed preset.")
    qp: int = Field(22, ge=0, le=51, description="x264 constant quantizer of predicted frames (lower is better).")
    keyframe_ratio: float = Field(
        4.0, ge=1.0, le=10.0,
        description="How much finer keyframes are quantized (x264 ipratio): a finely coded backdrop lets "
                    "later frames skip its unchanged blocks, which makes encoding far cheaper.")


def plain_backdrop(analysis: PromptAnalysis, width: int, height: int, floor: float) -> np.ndarray:
    """A studio backdrop in the prompt's palette: a sky-toned wall and a floor with a soft horizon."""
    palette = scene_palette(analysis)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    wall = np.asarray(palette.sky_top, np.float32) * (1 - rows) + np.asarray(palette.sky_horizon, np.float32) * rows
    ground = np.asarray(palette.ground_near, np.float32) * np.ones_like(rows)
    horizon = floor - 0.2
    blend = np.clip((rows - horizon) * 25.0, 0.0, 1.0)
    column = wall * (1 - blend) + ground * blend
    image = np.repeat(column[:, None, :], width, axis=1)
    return np.asarray(np.clip(image * 255.0 + 0.5, 0, 255), dtype=np.uint8)


def _backdrop(ctx: StageContext, analysis: PromptAnalysis, size: tuple[int, int], floor: float) -> np.ndarray:
    scene = earlier_file(ctx, "scene")
    if scene is None:
        return plain_backdrop(analysis, size[0], size[1], floor)
    with Image.open(scene) as image:
        picture = image.convert("RGB")
        if picture.size != size:
            picture = picture.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
        return np.asarray(picture)


def _figure(ctx: StageContext, size: tuple[int, int], floor: float, frames: int, fps: int) -> ProjectedFigure | None:
    motion = earlier_file(ctx, "motion")
    if motion is None:
        return None
    try:
        bvh = read_bvh(motion)
    except BvhError as exc:
        raise GeneratorError(f"cannot read {motion.name}: {exc}", code="MOTION_INVALID", retryable=False) from None
    return project(bvh, size[0], size[1], floor, frames, fps)


def _soundtrack(ctx: StageContext, duration: float) -> np.ndarray:
    samples = round(duration * SAMPLE_RATE)
    music = earlier_file(ctx, "music")
    if music is None:
        return np.zeros((2, samples), np.float32)
    try:
        audio = read_wav(music)
    except (ValueError, EOFError, OSError) as exc:
        raise GeneratorError(f"cannot read {music.name}: {exc}", code="MUSIC_INVALID", retryable=False) from None
    return audio[:, :samples]


def figure_style(analysis: PromptAnalysis) -> FigureStyle:
    """Skeleton colours: the palette's first accent near the camera, a dark second accent away from it."""
    near = accent_rgb8(analysis, 0)
    far = tuple(int(c * 0.55) for c in accent_rgb8(analysis, 1))
    return FigureStyle(near=near, far=(far[0], far[1], far[2]))


def render_video(ctx: StageContext, stage: str, cfg: VideoConfig, size: tuple[int, int]) -> dict[str, Any]:
    """Compose and encode the stage's MP4; returns the stage outputs."""
    job, analysis = load_job(ctx)
    duration = job.options.duration_s
    frames = max(1, round(duration * cfg.fps))
    floor = float((ctx.outputs.get("scene") or {}).get("floor", FLOOR))
    report(ctx, 2, f"Composing {size[0]}×{size[1]} video, {frames} frames")
    composer = FrameComposer(_backdrop(ctx, analysis, size, floor), _figure(ctx, size, floor, frames, cfg.fps),
                             figure_style(analysis))
    audio = _soundtrack(ctx, duration)
    relpath = STAGE_FILES[stage]
    target = ctx.path(relpath)
    partial = target.with_name(f".{target.name}.part")
    try:
        _encode(ctx, composer, Mp4Writer(partial, size[0], size[1], cfg.fps, audio,
                                            X264Settings(cfg.preset, cfg.qp, cfg.keyframe_ratio)), frames)
        partial.replace(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    ctx.add_artifact(relpath, role=stage, mime="video/mp4")
    report(ctx, 100, f"{stage} ready")
    return {"path": relpath, "width": size[0], "height": size[1], "fps": cfg.fps, "frames": frames,
            "duration_s": duration, "has_scene": earlier_file(ctx, "scene") is not None,
            "has_motion": composer.figure is not None, "has_music": earlier_file(ctx, "music") is not None}


def _encode(ctx: StageContext, composer: FrameComposer, writer: Mp4Writer, frames: int) -> None:
    step = max(1, frames // 20)
    try:
        for index in range(frames):
            if index % step == 0:
                report(ctx, 5 + 90 * index / frames, f"frame {index}/{frames}")
            writer.add(composer.frame(index))
    finally:
        writer.close()


def _size(cfg: VideoConfig, default: tuple[int, int]) -> tuple[int, int]:
    width = cfg.width or (round(cfg.height * default[0] / default[1]) if cfg.height else default[0])
    height = cfg.height or round(width * default[1] / default[0])
    return width // 2 * 2, height // 2 * 2


class PreviewConfig(VideoConfig):
    """Preview: small and quick."""

    width: int | None = Field(640, ge=64, le=7680)
    height: int | None = Field(360, ge=64, le=4320)
    preset: Preset = Field("superfast", description="x264 speed preset.")
    qp: int = Field(24, ge=0, le=51)


class ExportConfig(VideoConfig):
    """Export: the scene's full size (1920×1080 without a scene), at 24 fps.

    x264's time grows with pixels × frames and at 1080p it is most of a job's time: 24 fps
    (film rate, rather than the BVH's 30) and the ``ultrafast`` preset keep a full 12 s job
    near real time on two cores. The skeleton is sampled from the 30 fps motion by
    interpolation, so nothing is lost but frame rate.
    """

    preset: Preset = Field("ultrafast", description="x264 speed preset (ultrafast keeps a job within real time).")


@register
class PreviewGenerator:
    """Writes ``preview/preview.mp4``: a small video of the figure over the scene, with the music."""

    name: ClassVar[str] = "media.preview"
    Config: ClassVar[type[GeneratorConfig]] = PreviewConfig

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        cfg = config if isinstance(config, PreviewConfig) else PreviewConfig.model_validate(config or {})
        return render_video(ctx, "preview", cfg, _size(cfg, (640, 360)))


@register
class ExportGenerator:
    """Writes ``export/export.mp4``: the full-size video."""

    name: ClassVar[str] = "media.export"
    Config: ClassVar[type[GeneratorConfig]] = ExportConfig

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        cfg = config if isinstance(config, ExportConfig) else ExportConfig.model_validate(config or {})
        return render_video(ctx, "export", cfg, _size(cfg, _scene_size(ctx)))


def _scene_size(ctx: StageContext) -> tuple[int, int]:
    """The scene picture's size, else 1920×1080."""
    scene = earlier_file(ctx, "scene")
    if scene is None:
        return (1920, 1080)
    with Image.open(scene) as image:
        return (int(image.size[0]), int(image.size[1]))

