"""Doc-video render benchmark: a 10-section Markdown document → final.mp4 at 1080p.

Runs the six doc generators (plan, outline, narration with espeak-ng, pages, render,
merge) in a fresh process and, in another fresh process of the same run, the baseline:
encoding the very same slide PNGs and narration WAVs into an MP4 directly with PyAV
(same codec settings, nothing else). Prints a table and writes bench/results/render.json.

Targets: the pipeline runs at least 10× faster than real time, and takes at most 2× the
baseline's time.

    python bench/render.py [--language zh|en|both] [--repeat 1] [--width 1920 --height 1080]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
import wave
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
RESULTS = ROOT / "bench" / "results"

TOPICS_EN = ["Tokenization", "Embeddings", "Attention", "Transformers", "Training", "Evaluation",
             "Fine-tuning", "Retrieval", "Serving", "Safety"]
TOPICS_ZH = ["分词", "词向量", "注意力机制", "Transformer 结构", "模型训练", "效果评估", "微调", "检索增强",
             "推理部署", "安全与对齐"]


def english_doc() -> str:
    """Ten sections of prose, lists, code and tables."""
    parts = ["# Language Models from the Ground Up\n\nA short tour of how modern language models work.\n"]
    for n, topic in enumerate(TOPICS_EN, 1):
        parts.append(f"## {n}. {topic}\n\n{topic} is one of the building blocks of a language model. "
                     f"This part explains what {topic.lower()} does, why it matters and how it is used in practice.\n")
        parts.append("\n".join(f"- {topic} point {k}: a short explanation of one idea" for k in range(1, 5)) + "\n")
        if n % 3 == 0:
            parts.append(f"```python\ndef {topic.lower().replace('-', '_')}(batch):\n    \"\"\"{topic}.\"\"\"\n"
                         "    scores = model(batch)\n    return scores.softmax(-1)\n```\n")
        if n % 4 == 0:
            parts.append("| Setting | Value | Note |\n|---|---|---|\n| layers | 24 | depth |\n"
                         "| heads | 16 | width |\n| context | 8192 | tokens |\n")
    return "\n".join(parts)


def chinese_doc() -> str:
    """The same shape of document in Chinese."""
    parts = ["# 从零理解大语言模型\n\n本文简要介绍现代语言模型的工作原理。\n"]
    for n, topic in enumerate(TOPICS_ZH, 1):
        parts.append(f"## {n}. {topic}\n\n{topic}是语言模型的基础组成部分之一。本节说明{topic}的作用、"
                     f"它为什么重要，以及在实践中如何使用。\n")
        parts.append("\n".join(f"- {topic}要点{k}：对一个概念的简短说明" for k in range(1, 5)) + "\n")
        if n % 3 == 0:
            parts.append("```python\ndef step(batch):\n    # 计算注意力分数\n    scores = model(batch)\n"
                         "    return scores.softmax(-1)\n```\n")
        if n % 4 == 0:
            parts.append("| 参数 | 取值 | 说明 |\n|---|---|---|\n| 层数 | 24 | 深度 |\n| 注意力头 | 16 | 宽度 |\n"
                         "| 上下文 | 8192 | 词元 |\n")
    return "\n".join(parts)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_pipeline(workdir: str, language: str, width: int, height: int) -> dict[str, Any]:
    """Child process: the six generators, cold (first job in the process)."""
    from montage.generators.builtin.doc import run_doc_video

    content = chinese_doc() if language == "zh" else english_doc()
    job = {"content": content, "style": "Google 风格", "language": "zh-CN" if language == "zh" else "en-US"}
    started = time.perf_counter()
    run = run_doc_video(Path(workdir), job, configs={"PAGES": {"width": width, "height": height}})
    wall = time.perf_counter() - started
    return {"wall_s": wall, "stages_s": run.seconds, "slides": run.outputs["OUTLINE"]["slides"],
            "narration_s": run.outputs["NARRATION"]["total_duration_s"], "fps": run.outputs["RENDER"]["fps"],
            "images": run.outputs["PAGES"]["images"], "audio": run.outputs["NARRATION"]["audio"],
            "peak_rss_mb": peak_rss_mb()}


def run_baseline(workdir: str, images: list[str], audio: list[str], fps: int, out_name: str) -> dict[str, Any]:
    """Child process: the same PNGs and WAVs straight into an MP4 with PyAV, same codec settings."""
    import av
    import numpy as np
    from PIL import Image

    started = time.perf_counter()
    clips = []
    for rel in audio:
        with wave.open(str(Path(workdir) / rel)) as wav:
            rate = wav.getframerate()
            clips.append(np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2"))
    with av.open(str(Path(workdir) / out_name), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        first = Image.open(Path(workdir) / images[0])
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "23", "tune": "stillimage"})
        video.width, video.height, video.pix_fmt = first.width, first.height, "yuv420p"
        sound = out.add_stream("aac", rate=rate, layout="mono", options={"aac_coder": "fast"})
        sound.bit_rate = 96_000
        frame_at, sample_at = 0, 0
        for rel, clip in zip(images, clips, strict=True):
            frame = av.VideoFrame.from_image(Image.open(Path(workdir) / rel).convert("RGB")).reformat(format="yuv420p")
            end_frame = round((sample_at + len(clip)) * fps / rate)
            for pts in range(frame_at, end_frame):
                frame.pts = pts
                for packet in video.encode(frame):
                    out.mux(packet)
            chunk = av.AudioFrame.from_ndarray(clip.reshape(1, -1).copy(), format="s16", layout="mono")
            chunk.sample_rate, chunk.pts = rate, sample_at
            for packet in sound.encode(chunk):
                out.mux(packet)
            frame_at, sample_at = end_frame, sample_at + len(clip)
        for stream in (video, sound):
            for packet in stream.encode(None):
                out.mux(packet)
    return {"wall_s": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def probe(path: Path) -> dict[str, Any]:
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        return {"duration_s": container.duration / 1e6, "video": video.codec_context.name,
                "audio": container.streams.audio[0].codec_context.name,
                "size": [video.codec_context.width, video.codec_context.height]}


def in_child(function: Any, *args: Any) -> dict[str, Any]:
    """Run ``function`` in a fresh process, so timings and peak memory are its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        return pool.submit(function, *args).result()


def bench_language(language: str, repeat: int, width: int, height: int) -> dict[str, Any]:
    pipelines, baselines = [], []
    with tempfile.TemporaryDirectory(prefix=f"montage-bench-{language}-") as tmp:
        for attempt in range(repeat):
            workdir = Path(tmp) / f"run{attempt}"
            workdir.mkdir()
            pipeline = in_child(run_pipeline, str(workdir), language, width, height)
            baseline = in_child(run_baseline, str(workdir), pipeline["images"], pipeline["audio"],
                                pipeline["fps"], "baseline.mp4")
            pipeline["video"] = probe(workdir / "final.mp4")
            baseline["video"] = probe(workdir / "baseline.mp4")
            pipelines.append(pipeline)
            baselines.append(baseline)
    return summarize(language, pipelines, baselines)


def summarize(language: str, pipelines: list[dict[str, Any]], baselines: list[dict[str, Any]]) -> dict[str, Any]:
    wall = statistics.median(p["wall_s"] for p in pipelines)
    base = statistics.median(b["wall_s"] for b in baselines)
    duration = pipelines[0]["video"]["duration_s"]
    stages = {name: round(statistics.median(p["stages_s"][name] for p in pipelines), 3)
              for name in pipelines[0]["stages_s"]}
    return {
        "language": language, "slides": pipelines[0]["slides"], "video": pipelines[0]["video"],
        "narration_s": pipelines[0]["narration_s"], "fps": pipelines[0]["fps"],
        "duration_error_s": round(abs(duration - pipelines[0]["narration_s"]), 4),
        "pipeline_wall_s": round(wall, 3), "stages_s": stages, "realtime_x": round(duration / wall, 2),
        "baseline_wall_s": round(base, 3), "baseline_realtime_x": round(duration / base, 2),
        "ratio_to_baseline": round(wall / base, 3),
        "peak_rss_mb": {"pipeline": round(max(p["peak_rss_mb"] for p in pipelines), 1),
                        "baseline": round(max(b["peak_rss_mb"] for b in baselines), 1)},
        "runs": len(pipelines),
        "targets": {"realtime_x>=10": duration / wall >= 10, "ratio_to_baseline<=2": wall / base <= 2},
    }


def print_table(results: list[dict[str, Any]]) -> None:
    header = (f"{'doc':<4} {'slides':>6} {'video s':>8} {'wall s':>7} {'x real':>7} {'base s':>7} "
              f"{'x base':>7} {'RSS MB':>7} {'base MB':>8}  targets")
    print(header)
    print("-" * len(header))
    for r in results:
        ok = "ok" if all(r["targets"].values()) else "MISSED " + ", ".join(k for k, v in r["targets"].items() if not v)
        print(f"{r['language']:<4} {r['slides']:>6} {r['video']['duration_s']:>8.1f} {r['pipeline_wall_s']:>7.2f} "
              f"{r['realtime_x']:>7.1f} {r['baseline_wall_s']:>7.2f} {r['ratio_to_baseline']:>7.2f} "
              f"{r['peak_rss_mb']['pipeline']:>7.0f} {r['peak_rss_mb']['baseline']:>8.0f}  {ok}")
    for r in results:
        stages = "  ".join(f"{k} {v:.2f}" for k, v in r["stages_s"].items())
        print(f"{r['language']}: stages (s): {stages}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", choices=["zh", "en", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1, help="runs per language; medians are reported")
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    args = parser.parse_args()
    languages = ["zh", "en"] if args.language == "both" else [args.language]
    results = [bench_language(lang, max(1, args.repeat), args.width, args.height) for lang in languages]
    print_table(results)
    import av

    report = {"benchmark": "doc-video render", "resolution": [args.width, args.height],
              "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                          "platform": platform.platform(), "pyav": av.__version__},
              "results": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "render.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {RESULTS / 'render.json'}")


if __name__ == "__main__":
    main()
