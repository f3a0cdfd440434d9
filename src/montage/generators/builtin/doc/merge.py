"""doc.merge: timeline → ``final.mp4`` (H.264 yuv420p + AAC) and ``subtitles.srt`` / ``.vtt``.

Encoded in-process with PyAV. A slide is a still picture: it is converted to yuv420p once
and the same frame is fed to x264 for every frame it stays on screen, starting with a key
frame so players can seek to each slide. Video and sound are written slide by slide so the
file is interleaved; it is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.video.frame import PictureType
from PIL import Image
from pydantic import Field

from montage.errors import GeneratorError
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.doc.files import read_json, stage_output
from montage.generators.builtin.doc.subtitles import Cue, to_srt, to_vtt
from montage.generators.builtin.doc.tts import read_wav
from montage.generators.registry import register

VIDEO_FILE = "final.mp4"
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")


class MergeConfig(GeneratorConfig):
    """Parameters of doc.merge."""

    preset: str = Field("ultrafast", pattern="^(" + "|".join(X264_PRESETS) + ")$",
                        description="x264 preset: ultrafast is quickest for still slides.")
    crf: int = Field(23, ge=0, le=51, description="x264 quality, lower is better.")
    audio_bitrate: int = Field(96_000, ge=32_000, le=320_000, description="AAC bits per second.")
    keyframe_s: float = Field(10.0, gt=0, le=60, description="Longest gap between key frames.")


@register
class MergeGenerator:
    """Encode the slideshow with its narration, and write the subtitles."""

    name = "doc.merge"
    Config = MergeConfig

    def run(self, ctx: StageContext, config: MergeConfig) -> dict[str, Any]:
        render_out = stage_output(ctx, "doc.render")
        timeline = read_json(ctx, render_out["segments"])
        samples, rate = read_wav(ctx.workdir / timeline["audio"])
        target = ctx.path(VIDEO_FILE)
        partial = target.with_name(target.name + ".partial")
        try:
            encode_slideshow(ctx, timeline, samples, rate, partial, config)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        ctx.add_artifact(VIDEO_FILE, "video", "video/mp4")
        cues = [Cue(c["start"], c["end"], c["text"]) for c in timeline["cues"]]
        ctx.path("subtitles.srt").write_text(to_srt(cues), encoding="utf-8")
        ctx.path("subtitles.vtt").write_text(to_vtt(cues), encoding="utf-8")
        ctx.add_artifact("subtitles.srt", "subtitles", "application/x-subrip")
        ctx.add_artifact("subtitles.vtt", "subtitles", "text/vtt")
        ctx.progress(100, f"final.mp4, {timeline['duration_s']:.1f} s")
        return {"kind": self.name, "video": VIDEO_FILE, "subtitles_srt": "subtitles.srt",
                "subtitles_vtt": "subtitles.vtt", "duration_s": timeline["duration_s"],
                "width": timeline["width"], "height": timeline["height"], "fps": timeline["fps"]}


def encode_slideshow(ctx: StageContext, timeline: dict[str, Any], samples: np.ndarray, rate: int,
                     path: Path, config: MergeConfig) -> None:
    """Write the MP4 of ``timeline`` with ``samples`` (mono int16 at ``rate``) as its sound."""
    fps, size = int(timeline["fps"]), (int(timeline["width"]), int(timeline["height"]))
    segments = timeline["segments"]
    try:
        with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            video = container.add_stream("libx264", rate=fps, options={
                "preset": config.preset, "crf": str(config.crf), "tune": "stillimage"})
            video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
            video.codec_context.gop_size = max(1, int(fps * config.keyframe_s))
            audio = container.add_stream("aac", rate=rate, layout="mono", options={"aac_coder": "fast"})
            audio.bit_rate = config.audio_bitrate
            for number, segment in enumerate(segments, 1):
                ctx.check_cancelled()
                ctx.progress(100 * (number - 1) / len(segments), f"encoding slide {number}/{len(segments)}")
                frame = still_frame(ctx.workdir / segment["image"], size)
                _mux(container, _encode_still(video, frame, segment["start_frame"], segment["frames"]))
                chunk = samples[segment["start_sample"]: segment["start_sample"] + segment["samples"]]
                if len(chunk):
                    _mux(container, audio.encode(_audio_frame(chunk, rate, segment["start_sample"])))
            _mux(container, video.encode(None))
            _mux(container, audio.encode(None))
    except av.error.FFmpegError as exc:
        raise GeneratorError(f"encoding final.mp4 failed: {exc}", code="ENCODE_FAILED") from None


def still_frame(path: Path, size: tuple[int, int]) -> av.VideoFrame:
    """A slide image as a yuv420p video frame of ``size``."""
    with Image.open(path) as image:
        picture = image.convert("RGB")
    if picture.size != size:
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    return av.VideoFrame.from_image(picture).reformat(format="yuv420p")


def _encode_still(stream: Any, frame: av.VideoFrame, first: int, count: int) -> list[av.Packet]:
    packets: list[av.Packet] = []
    for offset in range(count):
        frame.pts = first + offset
        frame.pict_type = PictureType.I if offset == 0 else PictureType.NONE
        packets.extend(stream.encode(frame))
    return packets


def _audio_frame(chunk: np.ndarray, rate: int, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk, dtype=np.int16).reshape(1, -1),
                                       format="s16", layout="mono")
    frame.sample_rate = rate
    frame.pts = pts
    return frame


def _mux(container: Any, packets: list[av.Packet]) -> None:
    for packet in packets:
        container.mux(packet)
