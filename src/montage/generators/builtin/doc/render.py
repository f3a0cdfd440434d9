"""doc.render: pages + narration → the timeline ``render/segments.json`` and ``render/audio.wav``.

Each slide is shown exactly as long as its narration clip. The clips are joined into one
track at one sample rate; slide boundaries are placed on the video frame grid by rounding
the running total, so the video never drifts from the sound. Subtitle cues are placed over
each clip's speech (its lead-in silence excluded).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
from pydantic import Field

from montage.errors import GeneratorError
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.doc.files import read_json, stage_output, write_json
from montage.generators.builtin.doc.language import language_by_code
from montage.generators.builtin.doc.subtitles import slide_cues
from montage.generators.builtin.doc.tts import read_wav, write_wav
from montage.generators.registry import register

SEGMENTS_FILE = "render/segments.json"
AUDIO_FILE = "render/audio.wav"
#: Sample rates AAC in MP4 plays everywhere; others are resampled to 48 kHz.
AAC_RATES = (16000, 22050, 24000, 32000, 44100, 48000)


class RenderConfig(GeneratorConfig):
    """Parameters of doc.render."""

    fps: int = Field(5, ge=1, le=60, description="Frames per second of the slideshow video.")


@register
class RenderGenerator:
    """Time the slides to the narration."""

    name = "doc.render"
    Config = RenderConfig

    def run(self, ctx: StageContext, config: RenderConfig) -> dict[str, Any]:
        pages = read_json(ctx, stage_output(ctx, "doc.pages")["pages"])
        narration = read_json(ctx, stage_output(ctx, "doc.narration")["narration"])
        pairs = pair_slides(pages["slides"], narration["slides"])
        ctx.progress(10, "joining narration clips")
        clips = [read_wav(ctx.workdir / clip["audio"]) for _, clip in pairs]
        rate = clips[0][1] if clips[0][1] in AAC_RATES else 48000
        track = [resample(samples, clip_rate, rate) for samples, clip_rate in clips]
        segments = timeline([page for page, _ in pairs], [len(t) for t in track], rate, config.fps)
        ctx.check_cancelled()
        write_wav(ctx.path(AUDIO_FILE), np.concatenate(track), rate)
        ctx.add_artifact(AUDIO_FILE, "narration_track", "audio/wav")
        family = language_by_code(narration.get("language")).family
        cues = subtitle_track(segments, [clip for _, clip in pairs], 40 if family == "zh" else 84)
        duration = sum(len(t) for t in track) / rate
        document = {"fps": config.fps, "width": pages["width"], "height": pages["height"], "sample_rate": rate,
                    "audio": AUDIO_FILE, "duration_s": round(duration, 4), "frames": sum(s["frames"] for s in segments),
                    "segments": segments, "cues": cues, "pages": stage_output(ctx, "doc.pages")["pages"],
                    "narration": stage_output(ctx, "doc.narration")["narration"]}
        write_json(ctx, SEGMENTS_FILE, document, "timeline")
        ctx.progress(100, f"{len(segments)} segments, {duration:.1f} s")
        return {"kind": self.name, "segments": SEGMENTS_FILE, "audio": AUDIO_FILE, "duration_s": round(duration, 4),
                "fps": config.fps, "frames": document["frames"]}


def pair_slides(pages: list[dict[str, Any]], clips: list[dict[str, Any]]
                ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each page with its narration clip, by slide index; both lists must cover the same slides."""
    by_index = {clip["index"]: clip for clip in clips}
    if not pages or sorted(by_index) != sorted(page["index"] for page in pages):
        raise GeneratorError(
            f"pages ({len(pages)} slides) and narration ({len(clips)} clips) do not cover the same slides; "
            "re-run both from the same outline", code="STAGE_MISMATCH", retryable=False)
    return [(page, by_index[page["index"]]) for page in pages]


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Mono int16 samples at ``target`` Hz (linear interpolation; speech needs no better)."""
    if rate == target or len(samples) == 0:
        return samples.astype(np.int16)
    count = round(len(samples) * target / rate)
    positions = np.arange(count) * (rate / target)
    return np.interp(positions, np.arange(len(samples)), samples.astype(np.float32)).astype(np.int16)


def timeline(pages: list[dict[str, Any]], lengths: list[int], rate: int, fps: int) -> list[dict[str, Any]]:
    """Segments: each page's start, length and frame range, from its clip's length in samples."""
    segments = []
    start_sample = 0
    for page, length in zip(pages, lengths, strict=True):
        end_sample = start_sample + length
        first, last = round(start_sample * fps / rate), round(end_sample * fps / rate)
        segments.append({
            "index": page["index"], "image": page["image"], "start_s": round(start_sample / rate, 4),
            "end_s": round(end_sample / rate, 4), "duration_s": round(length / rate, 4),
            "start_sample": start_sample, "samples": length, "start_frame": first, "frames": max(0, last - first),
        })
        start_sample = end_sample
    return segments



def subtitle_track(segments: list[dict[str, Any]], clips: list[dict[str, Any]], max_units: int) -> list[dict[str, Any]]:
    """Subtitle cues of every slide, placed over the speech inside its clip."""
    cues: list[dict[str, Any]] = []
    for segment, clip in zip(segments, clips, strict=True):
        start = segment["start_s"] + float(clip.get("lead_s", 0.0))
        end = min(segment["end_s"], start + float(clip.get("speech_s", segment["duration_s"])))
        cues.extend(asdict(cue) for cue in slide_cues(clip["script"], start, end, max_units))
    return cues
