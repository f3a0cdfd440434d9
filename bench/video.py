"""Video benchmark: built-in generation speed per resolution, and status-poll latency under load.

Prints a table and writes bench/results/video.json.

  render   the built-in model (``video.render``'s renderer, in this process) making a 16:9 video
           of ``--seconds`` at 480p, 720p and 1080p for three prompts; speed is seconds of video
           per second of wall time (≥ 1 is faster than real time). Baseline, same run: x264
           alone encoding the same number of frames of that size (the floor the renderer adds to).
  poll     a real `montage serve`; ``--tasks`` tasks held "processing" by a fake upstream (status
           20) plus finished built-in tasks; ``--pollers`` concurrent clients (httpx async) each
           GET their task every ``--interval`` s (jittered; 2 s, the contract's shortest
           recommended interval) for ``--poll-seconds``, spread over ``--client-processes``.
           Latency p50, p95, p99 as the clients saw it, and the server's own p99 (its request
           histogram at /metrics: time to the response, without the clients' queueing), with the
           CPU each side spent per request. Baseline, same run: one client polling alone. Also
           counts the upstream's status reads in that window: the server polls upstream per
           task, not per client.

    python bench/video.py [--seconds 5] [--pollers 500] [--interval 2.0] [--poll-seconds 20]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

from bench.polling import poll, production_polling  # noqa: E402
from tests.support.fake_video_upstream import FakeVideoUpstream  # noqa: E402
from tests.support.server import ServerProcess  # noqa: E402
from tests.support.waiting import wait_for  # noqa: E402

from montage.generators.builtin.video.render import RenderRequest, render_video  # noqa: E402
from montage.generators.builtin.video.spec import FPS, frame_size  # noqa: E402
from montage.generators.builtin.video.words import read_brief  # noqa: E402

PROMPTS = ["a city street at night in heavy rain, camera pans right",
           "snowy mountains at dawn, zoom in",
           "misty forest, tracking shot"]
TOKEN = "bench-token"  # the bench server has no API keys (dev mode on loopback): the header is not checked


# -- render ------------------------------------------------------------------------------------------
def x264_only(width: int, height: int, frames: int, target: Path) -> float:
    """Seconds x264 (same settings) takes for ``frames`` frames of a moving gradient."""
    ramp = np.linspace(16, 235, width, dtype=np.float32)
    started = time.perf_counter()
    with av.open(str(target), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for index in range(frames):
            packed = np.empty((height * 3 // 2, width), np.uint8)
            packed[:height] = np.roll(ramp, index * 3).astype(np.uint8)[None, :]
            packed[height:] = 128
            frame = av.VideoFrame.from_ndarray(packed, format="yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return time.perf_counter() - started


def bench_render(seconds: float, tmp: Path) -> list[dict[str, Any]]:
    rows = []
    for resolution in ("480p", "720p", "1080p"):
        width, height = frame_size("16:9", resolution)
        runs: list[dict[str, Any]] = []
        for index, prompt in enumerate(PROMPTS):
            started = time.perf_counter()
            result = render_video(read_brief(prompt, index), RenderRequest(width, height, seconds, FPS),
                                  tmp / f"{resolution}-{index}.mp4", seed=index)
            runs.append({"prompt": prompt, "wall_s": time.perf_counter() - started, "prepare_s": result.prepare_s,
                         "encode_s": result.encode_s, "frames": result.frames})
        frames = runs[0]["frames"]
        baseline = x264_only(width, height, frames, tmp / f"{resolution}-x264.mp4")
        wall = [r["wall_s"] for r in runs]
        rows.append({"resolution": resolution, "size": f"{width}x{height}", "video_s": seconds, "fps": FPS,
                     "runs": runs, "wall_s_mean": sum(wall) / len(wall), "wall_s_worst": max(wall),
                     "s_per_video_s": sum(wall) / len(wall) / seconds,
                     "speed_x_realtime": seconds / (sum(wall) / len(wall)),
                     "speed_x_realtime_worst": seconds / max(wall),
                     "ms_per_frame": sum(r["encode_s"] for r in runs) / len(runs) / frames * 1000,
                     "x264_only_ms_per_frame": baseline / frames * 1000})
    return rows


# -- poll --------------------------------------------------------------------------------------------
ROUTE = "/v1/videos/tasks/{task_id}"


def _submit(url: str, body: dict[str, Any]) -> str:
    import httpx

    response = httpx.post(f"{url}/v1/videos/generations", json=body, headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=60)
    response.raise_for_status()
    return str(response.json()["task_id"])


def _status(url: str, task_id: str) -> dict[str, Any]:
    import httpx

    response = httpx.get(f"{url}/v1/videos/tasks/{task_id}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    return dict(response.json())


def _start_tasks(url: str, tasks: int) -> tuple[list[str], list[str]]:
    """``tasks`` upstream tasks held processing, and a tenth as many finished built-in ones."""
    held = [_submit(url, {"model": "jimeng-video-3.0", "prompt": f"bench {i} #hold"}) for i in range(tasks)]
    done = [_submit(url, {"prompt": "a meadow", "resolution": "480p", "duration": 1})
            for _ in range(max(1, tasks // 10))]
    wait_for(lambda: all(_status(url, t)["status"] == "processing" for t in held), timeout=120, interval=0.5,
             what="held tasks processing")
    wait_for(lambda: all(_status(url, t)["status"] == "completed" for t in done), timeout=300, interval=0.5,
             what="built-in tasks completed")
    return held, done


def bench_poll(tasks: int, pollers: int, interval: float, seconds: float, processes: int,
               tmp: Path) -> dict[str, Any]:
    with FakeVideoUpstream() as upstream:
        env = {"MONTAGE_VIDEO_UPSTREAM_MODELS": json.dumps({"jimeng-video-3.0": upstream.provider(
                   poll_interval_s=2.0, max_poll_interval_s=2.0)}),
               "MONTAGE_WORKER_CONCURRENCY": str(tasks + 8),
               **production_polling()}
        server = ServerProcess(tmp / "data", env=env)
        try:
            server.start(timeout=180)
            assert server.proc is not None
            held, done = _start_tasks(server.url, tasks)
            ids = held * 9 + done  # nine in ten polls hit a task still running
            paths = [f"/v1/videos/tasks/{task_id}" for task_id in ids]
            auth = {"Authorization": f"Bearer {TOKEN}"}
            alone = poll(server.url, server.proc.pid, paths, 1, 0.1, min(10.0, seconds), 1, ROUTE, auth)
            reads_before = upstream.status_reads
            loaded = poll(server.url, server.proc.pid, paths, pollers, interval, seconds, processes, ROUTE, auth)
            upstream_reads = upstream.status_reads - reads_before
        finally:
            server.stop()
    return {"tasks_processing": tasks, "tasks_completed": len(done), "interval_s": interval, "seconds": seconds,
            "alone": alone, "loaded": loaded, "upstream_status_reads": upstream_reads,
            "client_polls": loaded["requests"]}


# -- report ------------------------------------------------------------------------------------------
def print_table(render: list[dict[str, Any]], poll: dict[str, Any] | None) -> None:
    print(f"\n{'resolution':10} {'size':>10} {'wall s':>8} {'worst s':>8} {'× real time':>12} {'ms/frame':>9} "
          f"{'x264 only':>10}")
    for row in render:
        print(f"{row['resolution']:10} {row['size']:>10} {row['wall_s_mean']:8.2f} {row['wall_s_worst']:8.2f} "
              f"{row['speed_x_realtime']:12.2f} {row['ms_per_frame']:9.1f} {row['x264_only_ms_per_frame']:10.1f}")
    if poll is None:
        return
    print(f"\n{'pollers':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6} "
          f"{'server p99 ≤':>13} {'client cpu ms':>14} {'server cpu ms':>14}")
    for name in ("alone", "loaded"):
        row = poll[name]
        print(f"{row['clients']:8} {row['req_per_s']:7.1f} {row['p50_ms']:7.1f} {row['p95_ms']:7.1f} "
              f"{row['p99_ms']:7.1f} {row['max_ms']:7.1f} {row['errors']:6} {row['server_p99_ms_at_most']:13.1f} "
              f"{row['client_cpu_ms_per_request']:14.2f} {row['server_cpu_ms_per_request']:14.2f}")
    print(f"\nupstream status reads in the loaded window: {poll['upstream_status_reads']} "
          f"(for {poll['client_polls']} client polls of {poll['tasks_processing']} running tasks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each rendered video")
    parser.add_argument("--tasks", type=int, default=50, help="tasks held processing upstream")
    parser.add_argument("--pollers", type=int, default=500)
    parser.add_argument("--interval", type=float, default=2.0,
                        help="seconds between one client's polls (the contract recommends 2–5)")
    parser.add_argument("--poll-seconds", type=float, default=20.0)
    parser.add_argument("--client-processes", type=int, default=2, help="processes the pollers are spread over")
    parser.add_argument("--skip-render", action="store_true")
    parser.add_argument("--skip-poll", action="store_true", help="only the render part (no server is started)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="montage-bench-video-") as folder:
        tmp = Path(folder)
        render = [] if args.skip_render else bench_render(args.seconds, tmp)
        polled = None if args.skip_poll else bench_poll(args.tasks, args.pollers, args.interval, args.poll_seconds,
                                                      args.client_processes, tmp)
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_before": load_before,
                          "load_after": os.getloadavg()},
              "render": render, "poll": polled,
              "targets": {"720p_x_realtime": 1.0, "poll_p99_ms": 50.0}}
    print_table(render, polled)
    print(f"\nload average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "video.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
