"""Per-item dispatch overhead of the ComfyUI client against a server that answers at once.

For each item: queue a two-node graph (EmptyImage → SaveImage, 64×64), follow it until ComfyUI
says it is over, read its history and download the PNG. Overhead is that wall time minus the
time the server spent executing the prompt, so it is what a dispatch costs beyond the work:
HTTP round trips, websocket latency, the server's queue hand-off, JSON, writing the file.

The fake server runs in its own process, as ComfyUI would, and the execution time is read from
ComfyUI's own history record (``execution_start`` to ``execution_success`` timestamps, 1 ms
resolution). ``--server in-process`` runs it in this process instead (its threads then share
the GIL with the client, and the server's own clock is used).

Baselines measured in the same run against the same server: one ``GET /prompt`` round trip,
and three requests like the ones a dispatch makes (``GET /prompt``, ``GET /history/{id}``,
``GET /view``) back to back, none of which makes the server work.

    python bench/comfy_dispatch.py [--items 200] [--modes websocket,polling] [--server process]

Prints a table and writes ``bench/results/comfy_dispatch.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.fake_comfyui import FakeComfyUI  # noqa: E402

from montage.generators.remote import ComfyUIClient  # noqa: E402

TARGET_P50_MS = 20.0
GRAPH = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0x3366CC}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "bench/item"}},
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, samples_ms: list[float]) -> dict[str, Any]:
    return {"name": name, "n": len(samples_ms), "p50_ms": percentile(samples_ms, 50),
            "p99_ms": percentile(samples_ms, 99), "mean_ms": statistics.fmean(samples_ms),
            "max_ms": max(samples_ms)}


def time_ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def history_exec_ms(entry: dict[str, Any]) -> float:
    """Execution time as ComfyUI records it: execution_start to execution_success."""
    stamps = {event: data["timestamp"] for event, data in entry["status"]["messages"]}
    return float(stamps["execution_success"] - stamps["execution_start"])


def dispatch_samples(client: ComfyUIClient, items: int, out: Path,
                     exec_ms: Callable[[str, dict[str, Any]], float]) -> dict[str, list[float]]:
    wall, overhead = [], []
    if client.use_websocket:
        client.connect()
    for index in range(items):
        started = time.perf_counter()
        prompt_id = client.queue_prompt(GRAPH)
        entry = client.follow(prompt_id, total_nodes=len(GRAPH))
        files = client.download_outputs(entry, out / str(index))
        elapsed = (time.perf_counter() - started) * 1000
        assert len(files) == 1 and files[0].stat().st_size > 0
        wall.append(elapsed)
        overhead.append(elapsed - exec_ms(prompt_id, entry))
    return {"wall": wall, "overhead": overhead}


def _serve_in_child(root: str, conn: Connection) -> None:
    with FakeComfyUI(Path(root), step_delay=0.0) as server:
        conn.send(server.url)
        conn.recv()  # until the parent says stop


@contextlib.contextmanager
def fake_server(root: Path, where: str) -> Iterator[tuple[str, Callable[[str, dict[str, Any]], float]]]:
    """(url, exec-time function) of a fake ComfyUI in its own process or in this one."""
    if where == "in-process":
        with FakeComfyUI(root, step_delay=0.0) as server:
            yield server.url, lambda prompt_id, _entry: server.exec_seconds[prompt_id] * 1000
        return
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    child = multiprocessing.get_context("spawn").Process(target=_serve_in_child, args=(str(root), theirs))
    child.start()
    try:
        yield ours.recv(), lambda _prompt_id, entry: history_exec_ms(entry)
    finally:
        ours.send("stop")
        child.join(timeout=30)


def baseline_samples(client: ComfyUIClient, items: int) -> dict[str, list[float]]:
    """Round trips that make no work: the floor the transport itself sets."""
    http = client._http  # the same pooled connection the dispatch uses
    prompt_id = client.queue_prompt(GRAPH)
    image = client.follow(prompt_id)["outputs"]["2"]["images"][0]
    view = {"filename": image["filename"], "subfolder": image["subfolder"], "type": "output"}

    def three_requests() -> None:
        http.get("/prompt")
        http.get(f"/history/{prompt_id}")
        http.get("/view", params=view)

    round_trip = [time_ms(lambda: http.get("/prompt")) for _ in range(items)]
    requests = [time_ms(three_requests) for _ in range(items)]
    return {"round_trip": round_trip, "requests": requests}


def run(items: int, modes: list[str], warmup: int, where: str) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, fake_server(Path(tmp) / "comfy", where) as (url, exec_ms):
        for mode in modes:
            with ComfyUIClient(url, use_websocket=mode == "websocket") as client:
                dispatch_samples(client, warmup, Path(tmp) / f"warm-{mode}", exec_ms)
                samples = dispatch_samples(client, items, Path(tmp) / mode, exec_ms)
            results.append(summary(f"dispatch overhead ({mode})", samples["overhead"]))
            results.append(summary(f"dispatch wall time ({mode})", samples["wall"]))
        with ComfyUIClient(url) as client:
            base = baseline_samples(client, items)
        results.append(summary("baseline: GET /prompt round trip", base["round_trip"]))
        results.append(summary("baseline: GET /prompt + /history/{id} + /view", base["requests"]))
    return {
        "benchmark": "comfy_dispatch", "items": items, "warmup": warmup, "server": where,
        "target_p50_ms": TARGET_P50_MS, "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0], "results": results,
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"{'measure':<52} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}")
    for row in report["results"]:
        print(f"{row['name']:<52} {row['n']:>5} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
              f"{row['mean_ms']:>8.2f} {row['max_ms']:>8.2f}")
    ws = next((r for r in report["results"] if r["name"] == "dispatch overhead (websocket)"), None)
    if ws is not None:
        verdict = "met" if ws["p50_ms"] <= TARGET_P50_MS else "NOT met"
        print(f"target p50 <= {TARGET_P50_MS:.0f} ms (websocket): {verdict} ({ws['p50_ms']:.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--modes", default="websocket,polling")
    parser.add_argument("--server", choices=["process", "in-process"], default="process")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "comfy_dispatch.json")
    args = parser.parse_args()
    report = run(args.items, [m for m in args.modes.split(",") if m], args.warmup, args.server)
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
