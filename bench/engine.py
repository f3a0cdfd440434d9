"""Engine benchmark: no-op jobs end to end, against a bare DBOS workflow in the same run.

Prints a table and writes bench/results/engine.json. Each scenario runs in its own
process (DBOS is one per process):

  bare-dbos      one DBOS workflow with one step per job, enqueued on a queue (the baseline)
  service        JobService.submit of single-stage no-op jobs, executor in the same process: jobs/s
                 with one thread submitting as fast as it can; then enqueue→start latency with
                 half as many jobs paced at half that rate (no backlog: the engine's own latency)
  http           POST /api/v1/jobs over HTTP to a real `montage serve`
  approval       approve → the workflow wakes and the next stage starts
  get            (in the http scenario, after its jobs ran) GET /api/v1/jobs/{id} at 50 concurrent
                 clients, each with its own connection, polling one job every 0.2 s (250 requests/s
                 offered, as the video bench's 500 pollers at 2 s): client p50/p99 and the server's
                 own p99. Then the same 50 clients in a closed loop (no pause) for the server's
                 capacity: there latency is 50 / throughput, a throughput figure, not a latency one.

On PostgreSQL the service scenario runs two `montage worker` processes.

    python bench/engine.py [--jobs 1000] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
GET_ROUTE = "/api/v1/jobs/{job_id}"
GET_INTERVAL_S = 0.2

from bench.databases import postgres_database  # noqa: E402
from bench.polling import pct, poll, production_polling  # noqa: E402


# -- scenarios (each runs in a child process) ------------------------------------------------
def bare_dbos(jobs: int, url: str | None, tmp: Path) -> dict[str, Any]:
    from dbos import DBOS, SetWorkflowID

    system_url = url or f"sqlite:///{tmp / 'bare.sqlite'}"
    DBOS(config={"name": "bench", "system_database_url": system_url, "log_level": "WARNING",
                 "executor_id": "bench"})

    @DBOS.step()
    def noop_step(i: int) -> int:
        return i

    @DBOS.workflow()
    def noop_workflow(i: int) -> int:
        return noop_step(i)

    DBOS.launch()
    queue = DBOS.register_queue("bench", worker_concurrency=8, polling_interval_sec=0.02)
    started = time.perf_counter()
    handles = []
    for i in range(jobs):
        with SetWorkflowID(f"bare-{uuid.uuid4().hex}"):
            handles.append(queue.enqueue(noop_workflow, i))
    for h in handles:
        h.get_result()
    elapsed = time.perf_counter() - started
    latencies = []
    for h in handles[:: max(1, jobs // 200)]:
        status = h.get_status()
        if status.created_at and getattr(status, "dequeued_at", None):
            latencies.append((status.dequeued_at - status.created_at) / 1000)  # type: ignore[operator]
    DBOS.destroy()
    return {"jobs": jobs, "seconds": elapsed, "jobs_per_s": jobs / elapsed, "ms_per_job": elapsed * 1000 / jobs}


def _core(url: str | None, tmp: Path, executes: bool) -> Any:
    from montage.engine.runtime import Engine
    from montage.services.jobs import JobService
    from montage.services.runtime import Runtime, settle_process, tune_process
    from montage.settings import Settings

    settings = Settings(data_dir=tmp / "data", database_url=url, queue_polling_interval_s=0.02,
                        executor_id=f"bench-{uuid.uuid4().hex[:6]}")
    tune_process(settings)  # as `montage serve` and `montage worker` do
    runtime = Runtime.open(settings)
    engine = Engine(runtime, role="serve" if executes else "api", executes=executes)
    engine.launch()
    settle_process()  # as they do once started
    return runtime, engine, JobService(runtime, engine)


def _wait_all(jobs_svc: Any, ids: list[str], timeout: float = 600) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, total = jobs_svc.list_jobs(statuses=["SUCCEEDED", "FAILED", "CANCELED"], limit=1)
        if total >= len(ids):
            break
        time.sleep(0.05)
    return [jobs_svc.get(i) for i in ids]


def service(jobs: int, url: str | None, tmp: Path, workers: int) -> dict[str, Any]:
    from montage.services.jobs import SubmitJob

    procs = []
    if workers:
        env = {**os.environ, "MONTAGE_QUEUE_POLLING_INTERVAL_S": "0.02"}
        for n in range(workers):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "montage.cli", "worker", "--database-url", url or "",
                 "--data-dir", str(tmp / "data"), "--executor-id", f"bench-worker-{n}"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    runtime, engine, jobs_svc = _core(url, tmp, executes=not workers)
    try:
        warm = [jobs_svc.submit(SubmitJob(pipeline="noop"))[0].id for _ in range(20)]
        _wait_all(jobs_svc, warm)
        # throughput: submitted as fast as one thread can, which may outrun the executors (the
        # backlog then makes these jobs' start latency a queue length, not the engine's latency)
        started = time.perf_counter()
        ids = [jobs_svc.submit(SubmitJob(pipeline="noop"))[0].id for _ in range(jobs)]
        submit_s = time.perf_counter() - started
        final = _wait_all(jobs_svc, warm + ids)[len(warm):]
        elapsed = max(j.ended_at for j in final).timestamp() - min(j.created_at for j in final).timestamp()
        backlog = _start_ms(final)
        ok = sum(1 for j in final if j.status.value == "SUCCEEDED")
        # latency: the same jobs paced at half the throughput just measured, so no backlog forms
        rate = 0.5 * jobs / elapsed
        paced = []
        begin = time.perf_counter()
        for n in range(jobs // 2):
            time.sleep(max(0.0, begin + n / rate - time.perf_counter()))
            paced.append(jobs_svc.submit(SubmitJob(pipeline="noop"))[0].id)
        lat = _start_ms(_wait_all(jobs_svc, warm + ids + paced)[len(warm) + len(ids):])
    finally:
        engine.shutdown()
        runtime.close()
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
    return {"jobs": jobs, "succeeded": ok, "seconds": elapsed, "jobs_per_s": jobs / elapsed,
            "ms_per_job": elapsed * 1000 / jobs, "submit_per_s": jobs / submit_s,
            "start_p50_ms": pct(lat, 50), "start_p99_ms": pct(lat, 99), "paced_per_s": rate,
            "backlog_start_p50_ms": pct(backlog, 50), "backlog_start_p99_ms": pct(backlog, 99)}


def _start_ms(jobs: list[Any]) -> list[float]:
    """Each job's enqueue→start latency (created to started), in ms."""
    return [(j.started_at - j.created_at).total_seconds() * 1000 for j in jobs if j.started_at]


def approval(rounds: int, url: str | None, tmp: Path) -> dict[str, Any]:
    from montage.services.jobs import SubmitJob

    runtime, engine, jobs_svc = _core(url, tmp, executes=True)
    wakes = []
    try:
        for _ in range(rounds):
            job = jobs_svc.submit(SubmitJob(pipeline="demo", input={"seconds": 0}))[0]
            while jobs_svc.get(job.id).status.value != "WAITING_APPROVAL":
                time.sleep(0.005)
            t0 = time.perf_counter()
            jobs_svc.approve(job.id, "draft")
            while True:
                stage = jobs_svc.get(job.id).stage("review")
                if stage is not None and stage.status.value != "PENDING":
                    break
                time.sleep(0.002)
            wakes.append((time.perf_counter() - t0) * 1000)
    finally:
        engine.shutdown()
        runtime.close()
    return {"rounds": rounds, "wake_p50_ms": pct(wakes, 50), "wake_p99_ms": pct(wakes, 99)}


def http(jobs: int, url: str | None, tmp: Path) -> dict[str, Any]:
    import httpx
    from tests.support.server import ServerProcess

    server = ServerProcess(tmp / "data", url, env=production_polling(queue_polling_interval_s=0.02)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            def submit(_: int) -> str:
                return str(client.post("/api/v1/jobs", json={"pipeline": "noop"}).json()["id"])

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=16) as pool:
                ids = list(pool.map(submit, range(jobs)))
            while client.get("/api/v1/jobs", params={"status": "SUCCEEDED", "limit": 1}).json()["total"] < jobs:
                time.sleep(0.05)
            elapsed = time.perf_counter() - started

        # 50 clients, each polling one job: paced (every GET_INTERVAL_S, as a client watching a
        # job does) and, for the server's capacity, a closed loop (the next GET when one answers).
        assert server.proc is not None
        paths = [f"/api/v1/jobs/{job_id}" for job_id in ids[:50]]
        paced = poll(server.url, server.proc.pid, paths, 50, GET_INTERVAL_S, 15, 2, GET_ROUTE)
        closed = poll(server.url, server.proc.pid, paths, 50, 0, 10, 2, GET_ROUTE)
    finally:
        server.stop()
    return {"jobs": jobs, "seconds": elapsed, "jobs_per_s": jobs / elapsed,
            "get_p50_ms": paced["p50_ms"], "get_p99_ms": paced["p99_ms"], "get_paced": paced, "get_closed": closed}


def child(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="montage-bench-"))
    url, drop = postgres_database(args.postgres) if args.db == "postgres" else (None, None)
    runners = {
        "bare-dbos": lambda: bare_dbos(args.jobs, url, tmp),
        "service": lambda: service(args.jobs, url, tmp, workers=2 if url else 0),
        "approval": lambda: approval(30, url, tmp),
        "http": lambda: http(args.jobs, url, tmp),
    }
    try:
        result = runners[args.scenario]()
    finally:
        if drop is not None:
            drop()
    print(json.dumps(result), flush=True)
    # DBOS's threads of a destroyed instance sometimes keep the interpreter from exiting (one
    # PostgreSQL approval run in a few); the figures are out, the databases dropped.
    os._exit(0)


# -- driver ---------------------------------------------------------------------------------
def run_child(scenario: str, db: str, jobs: int, postgres: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", scenario, "--db", db, "--jobs", str(jobs),
                          "--postgres", postgres], capture_output=True, text=True, timeout=1800, cwd=ROOT)
    if out.returncode != 0:
        return {"error": out.stderr[-2000:]}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--postgres", default=os.environ.get("MONTAGE_TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--child", default=None)
    parser.add_argument("--scenario", default=None)
    args = parser.parse_args()
    if args.child:
        args.scenario = args.child
        child(args)
        return
    results: dict[str, dict[str, Any]] = {}
    for db in ([args.db] if args.db else ["sqlite", "postgres"]):
        for scenario in ("bare-dbos", "service", "approval", "http"):
            print(f"… {db} {scenario}", file=sys.stderr, flush=True)
            results[f"{db}/{scenario}"] = run_child(scenario, db, args.jobs, args.postgres)
    report(results)


def report(results: dict[str, dict[str, Any]]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "engine.json").write_text(json.dumps(results, indent=2))
    print(f"{'scenario':<22}{'jobs/s':>10}{'ms/job':>10}{'start p50':>11}{'start p99':>11}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:<22} ERROR {r['error'][-300:]}")
            continue
        p50 = r.get("wake_p50_ms", r.get("get_p50_ms"))
        p99 = r.get("wake_p99_ms", r.get("get_p99_ms"))
        print(f"{name:<22}{_f(r.get('jobs_per_s')):>10}{_f(r.get('ms_per_job')):>10}{_f(r.get('start_p50_ms')):>11}"
              f"{_f(r.get('start_p99_ms')):>11}{_f(p50):>9}{_f(p99):>9}")
    for name, r in results.items():
        if "paced_per_s" in r:
            print(f"{name}: {r['submit_per_s']:.0f} submissions/s from one thread; start p50/p99 "
                  f"{r['start_p50_ms']:.1f}/{r['start_p99_ms']:.1f} ms paced at {r['paced_per_s']:.0f} jobs/s, "
                  f"{r['backlog_start_p50_ms']:.0f}/{r['backlog_start_p99_ms']:.0f} ms in the throughput run's backlog")
        for mode in ("get_paced", "get_closed"):
            if mode in r:
                g = r[mode]
                print(f"{name} GET {mode[4:]:<6}: {g['req_per_s']:.0f} req/s from {g['clients']} clients, "
                      f"p50 {g['p50_ms']:.1f} ms, p99 {g['p99_ms']:.1f} ms "
                      f"(server p99 ≤ {g['server_p99_ms_at_most']:.0f} ms), "
                      f"server CPU {g['server_cpu_ms_per_request']:.2f} ms/request, {g['errors']} errors")
    for db in ("sqlite", "postgres"):
        bare, svc = results.get(f"{db}/bare-dbos", {}), results.get(f"{db}/service", {})
        if "ms_per_job" in bare and "ms_per_job" in svc:
            print(f"{db}: service time per job = {svc['ms_per_job'] / bare['ms_per_job']:.2f}x the bare DBOS baseline")


def _f(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    main()
