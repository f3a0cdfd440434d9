"""The doc-video generators end to end: Markdown → plan → … → final.mp4, probed for real."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from montage.errors import JobCanceled
from montage.generators.builtin.doc import DOC_VIDEO_STAGES, run_doc_video
from montage.generators.builtin.doc.local import DocVideoRun, run_stage
from montage.generators.registry import generator_names

SEED_DOC = """# 深度学习入门

## 基础概念
深度学习是机器学习的一个分支...

## 神经网络
神经网络的基本结构包括...
"""

ENGLISH_DOC = """# Serving HTTP with Python

Python ships everything needed to serve HTTP. This guide shows the pieces and compares options.

## Why the standard library

- No dependencies to install
- Works on every platform
  - Linux, macOS and Windows
- Good enough for tools and tests

## A complete example

```python
from http.server import BaseHTTPRequestHandler, HTTPServer

class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)  # 写入响应
        self.end_headers()
        self.wfile.write(b"hello")
```

## Comparing the options

| Option | Async | Typical use |
|---|---|---|
| http.server | No | Tests and demos |
| asyncio streams | Yes | Custom protocols |
| uvicorn | Yes | Real services |

![Request flow](https://example.com/flow.png)
"""

SMALL = {"PAGES": {"width": 640, "height": 360}}


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> DocVideoRun:
    workdir = tmp_path_factory.mktemp("seed")
    return run_doc_video(workdir, {"content": SEED_DOC, "style": "Google 风格", "language": "zh-CN"},
                         configs=SMALL)


@pytest.fixture(scope="module")
def english_run(tmp_path_factory: pytest.TempPathFactory) -> DocVideoRun:
    workdir = tmp_path_factory.mktemp("english")
    configs = {"PAGES": {"width": 960, "height": 540}, "RENDER": {"fps": 10}}
    return run_doc_video(workdir, {"content": ENGLISH_DOC, "style": "dark", "language": "en-US"}, configs=configs)


def _workdir(run: DocVideoRun) -> Path:
    return run.contexts["PLAN"].workdir


def _load(run: DocVideoRun, stage: str, key: str) -> Any:
    return json.loads((_workdir(run) / run.outputs[stage][key]).read_text(encoding="utf-8"))


def probe(path: Path) -> dict[str, Any]:
    """Codec names, frame size and durations of an MP4, read back with PyAV."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        frames = sum(1 for _ in container.decode(video=0))
        return {
            "video_codec": video.codec_context.name, "audio_codec": audio.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt, "size": (video.codec_context.width, video.codec_context.height),
            "duration": container.duration / 1e6, "frames": frames, "fps": float(video.average_rate or 0),
            "audio_rate": audio.codec_context.sample_rate,
        }


def test_all_six_generators_are_registered() -> None:
    names = set(generator_names())
    assert {spec.generator for spec in DOC_VIDEO_STAGES} <= names


@pytest.mark.parametrize("run_name", ["seed_run", "english_run"])
def test_final_mp4_has_h264_and_aac_and_matches_the_narration(run_name: str, request: pytest.FixtureRequest) -> None:
    run: DocVideoRun = request.getfixturevalue(run_name)
    narration_total = run.outputs["NARRATION"]["total_duration_s"]
    wav_total = sum(_wav_seconds(_workdir(run) / rel) for rel in run.outputs["NARRATION"]["audio"])
    assert wav_total == pytest.approx(narration_total, abs=0.01)
    info = probe(_workdir(run) / run.outputs["MERGE"]["video"])
    pages = run.outputs["PAGES"]
    assert info["video_codec"] == "h264" and info["audio_codec"] == "aac"
    assert info["pix_fmt"] == "yuv420p"
    assert info["size"] == (pages["width"], pages["height"])
    assert abs(info["duration"] - narration_total) < 0.1
    fps = run.outputs["RENDER"]["fps"]
    assert abs(info["frames"] / fps - narration_total) < 0.1


def test_each_slide_is_shown_for_its_narration_clip(english_run: DocVideoRun) -> None:
    timeline = _load(english_run, "RENDER", "segments")
    durations = english_run.outputs["NARRATION"]["durations"]
    assert [s["duration_s"] for s in timeline["segments"]] == pytest.approx(durations, abs=1e-3)
    fps = timeline["fps"]
    for segment in timeline["segments"]:
        assert abs(segment["frames"] / fps - segment["duration_s"]) < 1 / fps
        starts = segment["start_frame"] / fps
        assert abs(starts - segment["start_s"]) <= 0.5 / fps + 1e-9


def test_pngs_have_the_configured_size(seed_run: DocVideoRun, english_run: DocVideoRun) -> None:
    for run, size in ((seed_run, (640, 360)), (english_run, (960, 540))):
        images = run.outputs["PAGES"]["images"]
        assert len(images) == run.outputs["OUTLINE"]["slides"]
        for rel in images:
            with Image.open(_workdir(run) / rel) as image:
                assert image.size == size and image.format == "PNG"


def _cmap(face_key: str) -> set[int]:
    path, index = face_key.rsplit("#", 1)
    font = TTFont(path, fontNumber=int(index), lazy=True) if path.endswith(".ttc") else TTFont(path, lazy=True)
    return set(font.getBestCmap())


@pytest.mark.parametrize("run_name", ["seed_run", "english_run"])
def test_every_drawn_character_has_a_glyph_in_its_font(run_name: str, request: pytest.FixtureRequest) -> None:
    run: DocVideoRun = request.getfixturevalue(run_name)
    pages = _load(run, "PAGES", "pages")
    outline = _load(run, "OUTLINE", "outline")
    cmaps: dict[str, set[int]] = {}
    for page, slide in zip(pages["slides"], outline["slides"], strict=True):
        assert page["missing_glyphs"] == []
        drawn: set[str] = set()
        for face_key, chars in page["fonts"].items():
            cmap = cmaps.setdefault(face_key, _cmap(face_key))
            assert [ch for ch in chars if ord(ch) not in cmap] == []
            drawn.update(chars)
        visible = {ch for ch in slide["title"] if not ch.isspace()}
        assert visible <= drawn, f"title characters not drawn on slide {page['index']}"
    if run_name == "seed_run":
        assert any("CJK" in key or ".ttc" in key for key in cmaps)


def test_code_block_keeps_its_chinese_comment_glyphs(english_run: DocVideoRun) -> None:
    pages = _load(english_run, "PAGES", "pages")
    code_page = next(p for p in pages["slides"] if p["title"] == "A complete example")
    drawn = "".join(code_page["fonts"].values())
    assert all(ch in drawn for ch in "写入响应HTTPServer")


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def test_narration_wavs_are_real_speech(seed_run: DocVideoRun) -> None:
    narration = _load(seed_run, "NARRATION", "narration")
    assert narration["engine"] == "espeak-ng" and narration["voice"] == "cmn"
    for entry in narration["slides"]:
        with wave.open(str(_workdir(seed_run) / entry["audio"])) as wav:
            assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
        assert len(samples) / 22050 >= 1.0
        assert np.sqrt(np.mean(samples**2)) > 300, "clip is (nearly) silent"
        assert entry["script"]


def test_english_narration_uses_an_english_voice_and_describes_code(english_run: DocVideoRun) -> None:
    narration = _load(english_run, "NARRATION", "narration")
    assert narration["voice"] == "en-us"
    scripts = " ".join(s["script"] for s in narration["slides"])
    assert "Python code example" in scripts and "BaseHTTPRequestHandler" not in scripts


def test_outline_keeps_code_lists_tables_and_images(english_run: DocVideoRun) -> None:
    outline = _load(english_run, "OUTLINE", "outline")
    kinds = {e["type"] for slide in outline["slides"] for e in slide["elements"]}
    assert {"code", "list", "table", "image"} <= kinds
    listed = next(e for s in outline["slides"] for e in s["elements"] if e["type"] == "list")
    assert {"text": "Linux, macOS and Windows", "level": 1} in listed["items"]


def test_plan_has_title_sections_key_points_duration_and_style(seed_run: DocVideoRun) -> None:
    plan = _load(seed_run, "PLAN", "plan")
    assert plan["title"] == "深度学习入门"
    assert [s["heading"] for s in plan["sections"]] == ["基础概念", "神经网络"]
    assert all(s["key_points"] for s in plan["sections"])
    assert plan["target_duration_s"] > 0 and plan["language"] == "zh-CN"
    assert plan["style"] == "Google 风格" and plan["theme"] == "google"


def test_subtitles_cover_the_narration(seed_run: DocVideoRun) -> None:
    workdir = _workdir(seed_run)
    srt = (workdir / "subtitles.srt").read_text(encoding="utf-8")
    vtt = (workdir / "subtitles.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "-->" in srt
    assert "深度学习是机器学习的一个分支" in srt
    timeline = _load(seed_run, "RENDER", "segments")
    assert max(c["end"] for c in timeline["cues"]) <= timeline["duration_s"] + 1e-6


def test_artifacts_are_declared_with_roles(seed_run: DocVideoRun) -> None:
    roles = {a.path: a.role for ctx in seed_run.contexts.values() for a in ctx.artifacts}
    assert roles["plan/plan.json"] == "plan"
    assert roles["outline/outline.json"] == "outline"
    assert roles["narration/slide_01.wav"] == "narration_audio"
    assert roles["pages/slide_01.png"] == "page"
    assert roles["render/segments.json"] == "timeline"
    assert roles["final.mp4"] == "video"
    assert roles["subtitles.srt"] == roles["subtitles.vtt"] == "subtitles"


def test_progress_is_reported_per_slide(english_run: DocVideoRun) -> None:
    slides = english_run.outputs["OUTLINE"]["slides"]
    for stage in ("NARRATION", "PAGES", "MERGE"):
        messages = [m for _, m in english_run.contexts[stage].progress_log]
        assert len(messages) >= slides
        assert english_run.contexts[stage].progress_log[-1][0] == 100


def test_a_cancel_stops_the_stage_between_slides(seed_run: DocVideoRun, tmp_path: Path) -> None:
    from montage.generators.registry import get_generator
    from montage.generators.standalone import StandaloneContext

    generator = get_generator("doc.pages")
    ctx = StandaloneContext(workdir=_workdir(seed_run), outputs=dict(seed_run.outputs), canceled=True)
    with pytest.raises(JobCanceled):
        generator.run(ctx, generator.Config(width=320, height=180))
    assert ctx.progress_log == [] or ctx.progress_log[-1][0] < 100


def test_merge_needs_render_outputs(tmp_path: Path) -> None:
    from montage.errors import GeneratorError

    with pytest.raises(GeneratorError) as caught:
        run_stage("MERGE", "doc.merge", tmp_path, {}, {})
    assert caught.value.code == "MISSING_INPUT" and caught.value.retryable is False
