"""Benchmark of the built-in web-media generators (per target, and one full job).

    python bench/media.py                 # durations 8, 30, 120 s and the 12 s full job
    python bench/media.py --durations 8   # quicker

What it measures, on this machine, in this run:

1. **Per target × duration**: wall time of each stage (scene, motion, music, preview,
   export) for each ``duration_s``, run in order in one job folder as the engine would,
   so the cost growth with duration is visible (scene does not depend on it; the rest
   should grow about linearly).
2. **Full job** (the contract's example A+B in one: scene + motion + music + preview +
   export, ``duration_s`` 12): wall time and wall time ÷ media time (≤ 1 is faster than real
   time). Budget: 12 s on a 2-core machine.
3. **Baseline, same run**: encoding the export's frame count of the same 1080p scene,
   still, with the export's x264 settings and no figure — the floor the export stage
   cannot beat — so the export figure reads as "that floor + the figure's cost".
4. **SSE fan-out** (``bench/sse_fanout.py``): a real ``montage serve`` runs the full job while
   ``--subscribers`` (200) clients on ``--client-processes`` processes read its
   ``/api/jobs/{id}/events``; latency per delivered event = the server's event time (``ts``) →
   the frame read by the subscriber, p50/p90/p99, with 1 subscriber as the baseline in the same
   run. Target: p99 ≤ 200 ms at 200 subscribers.

Prints a table and writes ``bench/results/media.json``. Machine load is recorded too:
numbers taken while other work runs on the machine are slower, and say so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from sse_fanout import bench_fanout, print_fanout  # bench/ is on sys.path when run as a script

from montage.generators.builtin.media.input import parse_media_input
from montage.generators.builtin.media.prompt import analyse_prompt
from montage.generators.builtin.media.scene import render_scene
from montage.generators.builtin.media.video import Mp4Writer, PlanarFrame, X264Settings
from montage.generators.builtin.media.video_stages import ExportConfig
from montage.generators.registry import get_generator
from montage.generators.standalone import StandaloneContext

STAGES = ["scene", "motion", "music", "preview", "export"]
FULL_JOB_PROMPT = "A warrior dashes forward and slashes the enemy, epic orchestral music"
PER_TARGET_PROMPT = "A cyberpunk dojo in heavy rain, samurai training, epic music"
RESULTS = Path(__file__).resolve().parent / "results" / "media.json"


def run_job(prompt: str, duration: float, options: dict[str, Any] | None = None) -> dict[str, float]:
    """Run every stage of one job in a fresh folder: wall seconds per stage and ``total``, and the
    CPU seconds of this process (all threads, x264's included) as ``cpu_<stage>`` and ``cpu_total``.
    """
    body = {"prompt": prompt, "options": {"targets": STAGES, "duration_s": duration, **(options or {})}}
    parse_media_input(body, max_duration_s=max(600.0, duration))
    timings: dict[str, float] = {}
    outputs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="montage-bench-") as folder:
        start, cpu_start = time.perf_counter(), time.process_time()
        for stage in STAGES:
            generator = get_generator(f"media.{stage}")
            ctx = StandaloneContext(workdir=Path(folder), input=body, outputs=dict(outputs), stage=stage,
                                    settings={"media_max_duration_s": max(600.0, duration)})
            began, cpu_began = time.perf_counter(), time.process_time()
            outputs[stage] = generator.run(ctx, generator.Config())
            timings[stage] = time.perf_counter() - began
            timings[f"cpu_{stage}"] = time.process_time() - cpu_began
        timings["total"] = time.perf_counter() - start
        timings["cpu_total"] = time.process_time() - cpu_start
    return timings


def still_backdrop() -> np.ndarray:
    """The per-target prompt's scene at 1080p (what the export encodes behind the figure)."""
    analysis = analyse_prompt(PER_TARGET_PROMPT)
    return render_scene(analysis, 1920, 1080, np.random.default_rng(42))[0]


def encoder_floor(duration: float, backdrop: np.ndarray) -> dict[str, float]:
    """Wall and CPU seconds to encode ``duration`` s of the still 1080p ``backdrop`` with the export's
    settings, no figure."""
    config = ExportConfig()
    frames = round(duration * config.fps)
    still = av.VideoFrame(1920, 1080, "yuv420p")
    PlanarFrame.over(still).fill(PlanarFrame.from_rgb(backdrop))
    silence = np.zeros((2, round(duration * 44100)), np.float32)
    with tempfile.TemporaryDirectory(prefix="montage-bench-") as folder:
        began, cpu_began = time.perf_counter(), time.process_time()
        settings = X264Settings(config.preset, config.qp, config.keyframe_ratio)
        writer = Mp4Writer(Path(folder) / "floor.mp4", 1920, 1080, config.fps, silence, settings)
        for _ in range(frames):
            writer.add(still)
        writer.close()
        return {"wall": time.perf_counter() - began, "cpu": time.process_time() - cpu_began}


def print_table(per_target: dict[str, dict[str, float]], full: dict[str, float],
                floor: dict[str, dict[str, float]]) -> None:
    header = f"{'duration_s':>10} " + " ".join(f"{s:>9}" for s in [*STAGES, "total"]) + f" {'x real':>7}"
    print("\nper target (seconds of wall time)")
    print(header)
    for duration, timings in per_target.items():
        cells = " ".join(f"{timings[s]:9.2f}" for s in [*STAGES, "total"])
        print(f"{duration:>10} {cells} {timings['total'] / float(duration):7.2f}")
    print("\nCPU seconds (this process, every thread)")
    print(header.replace(" x real", ""))
    for duration, timings in per_target.items():
        print(f"{duration:>10} " + " ".join(f"{timings['cpu_' + s]:9.2f}" for s in [*STAGES, "total"]))
    print("\nexport encoder floor (the scene, still, no figure): "
          + ", ".join(f"{d} s → {t['wall']:.2f} s wall / {t['cpu']:.2f} CPU-s" for d, t in floor.items()))
    verdict = "within" if full["total"] <= 12.0 else "OVER"
    print(f"\nfull job (scene+motion+music+preview+export, 12 s): {full['total']:.2f} s wall, "
          f"{full['total'] / 12.0:.2f}× real time — {verdict} the 12 s budget")
    print("  wall: " + ", ".join(f"{s} {full[s]:.2f}" for s in STAGES))
    print("  cpu:  " + ", ".join(f"{s} {full['cpu_' + s]:.2f}" for s in STAGES)
          + f" — {full['cpu_total']:.2f} CPU-s in all (this process, every thread)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--durations", type=float, nargs="+", default=[8.0, 30.0, 120.0])
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--subscribers", type=int, default=200, help="SSE fan-out subscribers (0: skip it)")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the subscribers are spread over")
    parser.add_argument("--sse-client", choices=["raw", "httpx"], default="raw",
                        help="raw: HTTP/1.1 on asyncio sockets (lean); httpx: httpx streams")
    parser.add_argument("--port", type=int, default=0, help="the fan-out server's port (0: any free one)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    run_job("warm-up: import and first-call costs", 1.0)
    per_target = {f"{d:g}": run_job(PER_TARGET_PROMPT, d) for d in args.durations}
    backdrop = still_backdrop()
    floor = {f"{d:g}": encoder_floor(d, backdrop) for d in args.durations}
    full = run_job(FULL_JOB_PROMPT, 12.0, {"style": "cinematic", "mood": "epic"})
    print_table(per_target, full, floor)

    fanout = None
    if args.subscribers:  # SSE fan-out (bench/sse_fanout.py): a real server, one job, N streams on it
        load_before_fanout = os.getloadavg()
        fanout = bench_fanout(args.subscribers, args.client_processes, args.port, "media", args.sse_client)
        fanout["load_avg_before"] = load_before_fanout
        print_fanout(fanout)

    result = {
        "benchmark": "media generators",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_avg_before": load_before, "load_avg_after": os.getloadavg()},
        "per_target_prompt": PER_TARGET_PROMPT,
        "per_target_seconds": per_target,
        "export_encoder_floor_seconds": floor,
        "full_job": {"prompt": FULL_JOB_PROMPT, "duration_s": 12.0, "seconds": full,
                     "x_real_time": full["total"] / 12.0, "budget_s": 12.0, "within_budget": full["total"] <= 12.0},
        "sse_fanout": fanout,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
