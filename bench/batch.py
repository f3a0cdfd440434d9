"""Batch benchmark: folders of small images through a local workflow, and per-item dispatch cost
against a ComfyUI that answers at once.

Scenarios (each in its own process: DBOS is one per process):

  local        --folders folders of --images small PNGs through the built-in ``local-image``
               workflow on a local server with batch_size 1, 2 and 4: wall time, items/s, scaling
               against batch_size 1 (the baseline, measured in the same run), stage time p50.
  comfy        one image per item through a ComfyUI graph (LoadImage → SaveImage) on the fake
               ComfyUI in its own process: (a) the raw client (bench/comfy_dispatch.py's loop, the
               baseline), (b) montage's ComfyUI runner per item (upload, fill the graph, queue,
               follow, download, copy out), (c) whole batch items through the engine with batch_size
               1 (queue hand-off, job and stage records, checkpoints included). Overhead is wall time
               minus the time ComfyUI says it spent executing.
  queues       the choice of queue for a server: a queue per server with global_concurrency =
               batch_size, against one partitioned queue keyed by server (partition_concurrency),
               for 200 workflows of 10 ms at concurrency 2: wall time and the most seen at once.

    python bench/batch.py [--folders 200] [--images 3] [--items 100] [--scenarios local,comfy,queues]

Prints a table and writes ``bench/results/batch.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "bench")]

TARGET_P50_MS = 20.0
COMFY_GRAPH = {"1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
               "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "bench/item"}}}
COMFY_MAPPING = {"image": {"node": "1", "input": "image", "source": "file"}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def ms_summary(name: str, samples: list[float]) -> dict[str, Any]:
    return {"name": name, "n": len(samples), "p50_ms": pct(samples, 50), "p99_ms": pct(samples, 99),
            "mean_ms": statistics.fmean(samples) if samples else float("nan")}


class Core:
    """Runtime, engine and the facade's services in this process, on a fresh data folder."""

    def __init__(self, tmp: Path, database_url: str | None) -> None:
        from tests.support.registry import registry_over

        from montage.engine.runtime import Engine
        from montage.services.jobs import JobService
        from montage.services.runtime import Runtime
        from montage.settings import Settings

        settings = Settings(data_dir=tmp / "data", database_url=database_url, executor_id="bench",
                            allowed_roots=[tmp], server_health_interval_s=1.0)
        self.runtime = Runtime.open(settings)
        self.engine = Engine(self.runtime, role="serve", executes=True)
        self.engine.launch()
        self.jobs = JobService(self.runtime, self.engine)
        self.reg = registry_over(self)

    def close(self) -> None:
        self.engine.shutdown()
        self.runtime.close()


def stage_seconds(core: Core, job_ids: list[str]) -> list[float]:
    from montage.store.models import StageRow

    with core.runtime.db.read() as s:
        rows = s.query(StageRow).filter(StageRow.job_id.in_(job_ids)).all()
    return [(r.ended_at - r.started_at).total_seconds() for r in rows if r.started_at and r.ended_at]


def wait_for(probe: Callable[[], object], timeout: float, what: str) -> None:
    from tests.support.waiting import wait_for as wait

    wait(probe, timeout=timeout, what=what)


def run_batch(core: Core, workflow: str, folders: Path, server: str, out: Path) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    task = core.reg.finished(core.reg.process(workflow, [folders], [], server, out), timeout=3600)
    wall = time.perf_counter() - started
    assert task.latest is not None and task.latest.result is not None and task.latest.job_id is not None
    parent = task.latest.job_id
    wait_for(lambda: core.jobs.get(parent).status.terminal, timeout=60, what="the parent job to end")
    return wall, task.latest.result


# -- local ------------------------------------------------------------------------------------
def local_scenario(folders: int, images: int, database_url: str | None) -> list[dict[str, Any]]:
    from tests.support.registry import make_folders

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = make_folders(tmp / "in", {f"folder{i:03d}": images for i in range(folders)}, size=(96, 64))
        core = Core(tmp, database_url)
        try:
            for batch_size in (1, 2, 4):
                core.reg.server(f"local{batch_size}", batch_size=batch_size)
                wall, result = run_batch(core, "local-image", source, f"local{batch_size}", tmp / f"out{batch_size}")
                assert result["success_count"] == folders, result
                stages = stage_seconds(core, [i["job_id"] for i in result["items"]])
                rows.append({"name": f"local batch_size={batch_size}", "items": folders, "wall_s": wall,
                             "items_per_s": folders / wall, "stage_p50_ms": pct(stages, 50) * 1000,
                             "files_written": result["processed_files"]})
        finally:
            core.close()
    base = rows[0]["items_per_s"]
    for row in rows:
        row["scaling"] = row["items_per_s"] / base
    return rows


# -- comfy ------------------------------------------------------------------------------------
class StubBatch:
    """The ``batch`` stage service for the runner measured on its own."""

    def __init__(self, url: str) -> None:
        from montage.generators.builtin.batch.ports import Endpoint, ItemSpec

        self.spec = ItemSpec("comfy", COMFY_GRAPH, COMFY_MAPPING, {}, {})
        self.endpoint = Endpoint("comfy", url, "comfyui")

    def item_spec(self, execution_id: int) -> Any:
        return self.spec

    def wait_for_server(self, name: str, check_cancelled: Callable[[], None]) -> Any:
        return self.endpoint


def runner_samples(url: str, tmp: Path, items: int) -> list[float]:
    """Per item: wall time of montage's ComfyUI runner on one image."""
    from tests.support.registry import make_folders

    from montage.generators.remote.runners import ComfyWorkflowRunner
    from montage.generators.standalone import StandaloneContext

    source = make_folders(tmp / "runner-in", {f"f{i}": 1 for i in range(items)})
    runner, overhead = ComfyWorkflowRunner(), []
    for i in range(items):
        ctx = StandaloneContext(workdir=tmp / "runner-jobs" / str(i), job_id=f"job_{i}",
                                input={"execution_id": 1, "folder": str(source / f"f{i}"), "name": f"f{i}",
                                       "output_dir": str(tmp / "runner-out" / f"f{i}")},
                                settings={"upload_roots": [tmp]}, services={"batch": StubBatch(url)})
        started = time.perf_counter()
        runner.run(ctx, runner.Config())
        overhead.append((time.perf_counter() - started) * 1000)
    return overhead


def comfy_scenario(items: int, database_url: str | None) -> list[dict[str, Any]]:
    from comfy_dispatch import dispatch_samples, fake_server
    from tests.support.registry import make_folders

    from montage.generators.remote import ComfyUIClient

    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with fake_server(tmp / "comfy", "process") as (url, exec_ms):
            with ComfyUIClient(url) as client:
                dispatch_samples(client, 10, tmp / "warm", exec_ms)
                raw = dispatch_samples(client, items, tmp / "raw", exec_ms)
            rows.append(ms_summary("(a) raw client dispatch overhead (baseline)", raw["overhead"]))
            executing = statistics.median(w - o for w, o in zip(raw["wall"], raw["overhead"], strict=True))
            runner_samples(url, tmp / "warm-runner", 10)
            runner = runner_samples(url, tmp, items)
            rows.append(ms_summary("(b) montage ComfyUI runner per item (wall)", runner))
            rows.append(ms_summary("(b) montage ComfyUI runner dispatch overhead", [w - executing for w in runner]))
            core = Core(tmp, database_url)
            try:
                core.reg.server("comfy", url=url, type="comfyui", batch_size=1)
                core.reg.workflow("comfy-bench", COMFY_GRAPH, input_mapping=COMFY_MAPPING)
                source = make_folders(tmp / "in", {f"f{i:03d}": 1 for i in range(items)})
                wall, result = run_batch(core, "comfy-bench", source, "comfy", tmp / "out")
                stages = stage_seconds(core, [i["job_id"] for i in result["items"]])
            finally:
                core.close()
            rows.append(ms_summary("(c) engine: item stage, start to end (wall)", [s * 1000 for s in stages]))
            rows.append({"name": "(c) engine: whole batch, per item (wall / items)", "n": items,
                         "p50_ms": wall / items * 1000, "p99_ms": float("nan"), "mean_ms": wall / items * 1000})
    return rows


# -- queues -----------------------------------------------------------------------------------
def queue_choice(workflows: int = 200, concurrency: int = 2) -> list[dict[str, Any]]:
    """A bare DBOS: a queue per server vs one partitioned queue, same load and limit."""
    from dbos import DBOS

    running, peak, lock = [0], [0], threading.Lock()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        DBOS(config={"name": "bench-queues", "system_database_url": f"sqlite:///{tmp}/q.sqlite",
                     "log_level": "WARNING", "executor_id": "bench"})

        @DBOS.workflow()
        def item(i: int) -> int:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.01)
            with lock:
                running[0] -= 1
            return i

        DBOS.launch()
        per_server = DBOS.register_queue("server:a", global_concurrency=concurrency, polling_interval_sec=0.05)
        partitioned = DBOS.register_queue("servers", partition_concurrency=concurrency, polling_interval_sec=0.05)
        for name, enqueue in (("queue per server (global_concurrency)", lambda i: per_server.enqueue(item, i)),
                              ("partitioned queue (partition_concurrency)", lambda i: _partitioned(partitioned,
                                                                                                    item, i))):
            peak[0] = 0
            started = time.perf_counter()
            handles = [enqueue(i) for i in range(workflows)]
            for h in handles:
                h.get_result()
            wall = time.perf_counter() - started
            rows.append({"name": name, "workflows": workflows, "wall_s": wall, "per_s": workflows / wall,
                         "most_at_once": peak[0], "limit": concurrency})
        DBOS.destroy()
    return rows


def _partitioned(queue: Any, fn: Any, i: int) -> Any:
    from dbos import SetEnqueueOptions

    with SetEnqueueOptions(queue_partition_key="server-a"):
        return queue.enqueue(fn, i)


# -- driver -----------------------------------------------------------------------------------
def _child(scenario: str, args: dict[str, Any], conn: Any) -> None:
    fn = {"local": lambda: local_scenario(args["folders"], args["images"], args["database_url"]),
          "comfy": lambda: comfy_scenario(args["items"], args["database_url"]),
          "queues": queue_choice}[scenario]
    conn.send(fn())


def in_child(scenario: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(scenario, args, theirs))
    proc.start()
    rows: list[dict[str, Any]] = ours.recv()
    proc.join(timeout=60)
    return rows


def print_table(report: dict[str, Any]) -> None:
    for row in report["local"]:
        print(f"{row['name']:<28} {row['items']:>4} items  {row['wall_s']:>7.2f} s  {row['items_per_s']:>6.2f} "
              f"items/s  x{row['scaling']:.2f}  stage p50 {row['stage_p50_ms']:.0f} ms")
    for row in report["comfy"]:
        print(f"{row['name']:<52} n={row['n']:<4} p50 {row['p50_ms']:>7.2f} ms  p99 {row['p99_ms']:>7.2f} ms")
    for row in report["queues"]:
        print(f"{row['name']:<44} {row['wall_s']:>6.2f} s  {row['per_s']:>6.1f}/s  most at once "
              f"{row['most_at_once']} (limit {row['limit']})")
    runner = next((r for r in report["comfy"] if r["name"].endswith("runner dispatch overhead")), None)
    if runner is not None:
        verdict = "met" if runner["p50_ms"] <= TARGET_P50_MS else "NOT met"
        print(f"target: per-item dispatch p50 <= {TARGET_P50_MS:.0f} ms (runner, (b)): {verdict} "
              f"({runner['p50_ms']:.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folders", type=int, default=200)
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--scenarios", default="local,comfy,queues")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "batch.json")
    args = parser.parse_args()
    options = {"folders": args.folders, "images": args.images, "items": args.items,
               "database_url": args.database_url}
    report: dict[str, Any] = {"benchmark": "batch", "python": platform.python_version(),
                              "machine": platform.machine(), "cpus": os.cpu_count(),
                              "load_average_1m_before": os.getloadavg()[0], "database": args.database_url or "sqlite",
                              "local": [], "comfy": [], "queues": []}
    for scenario in [s for s in args.scenarios.split(",") if s]:
        report[scenario] = in_child(scenario, options)
    report["load_average_1m_after"] = os.getloadavg()[0]
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
