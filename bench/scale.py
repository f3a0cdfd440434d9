"""Scale-out benchmark on PostgreSQL: no-op jobs/s with 1, 2 and 4 `montage worker` processes,
and a soak at a steady rate with each process's memory (RSS) sampled.

Prints tables and writes bench/results/scale.json.

  baseline  a bare DBOS workflow of one step per job, in one process (bench/engine.py's), in
            the same run: on a shared machine it tells how busy the machine was.
  scaling   for each worker count: a fresh database, N worker processes, this process submits
            --jobs single-stage no-op jobs through the service layer (enqueue only) and waits;
            jobs/s = jobs / (last end - first submit), plus enqueue→start p50/p99.
  soak      a fresh database, one API replica (`montage serve --no-worker`) and 2 workers; this
            process POSTs no-op jobs at --soak-rate per second over HTTP for --soak-minutes and
            samples every process's RSS every --sample-s seconds; the trend (MB per minute, a
            least-squares slope over the second half of the run) shows growth.

    python bench/scale.py [--jobs 1000] [--workers 1,2,4] [--soak-minutes 1] [--soak-rate 20]
    python bench/scale.py --soak-minutes 10          # the full soak
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

from bench.databases import postgres_database  # noqa: E402
from bench.engine import run_child  # noqa: E402
from bench.polling import pct  # noqa: E402


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB (Linux /proc), or None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start_workers(url: str, tmp: Path, count: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "MONTAGE_QUEUE_POLLING_INTERVAL_S": "0.02"}
    return [subprocess.Popen([sys.executable, "-m", "montage.cli", "worker", "--database-url", url,
                              "--data-dir", str(tmp / "data"), "--executor-id", f"scale-worker-{n}"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for n in range(count)]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()


def drop_db(admin_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text

    from montage.settings import normalise_database_url

    admin = create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def _wait_ended(jobs_svc: Any, count: int, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while jobs_svc.list_jobs(statuses=["SUCCEEDED", "FAILED", "CANCELED"], limit=1)[1] < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} jobs did not end in {timeout} s")
        time.sleep(0.05)


# -- scaling (runs in a child process: DBOS is one per process) --------------------------------
def scaling_child(admin_url: str, workers: int, jobs: int) -> dict[str, Any]:
    from montage.engine.runtime import Engine
    from montage.services.jobs import JobService, SubmitJob
    from montage.services.runtime import Runtime
    from montage.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="montage-scale-"))
    url, _ = postgres_database(admin_url)  # kept after the run
    settings = Settings(data_dir=tmp / "data", database_url=url, executor_id=f"scale-api-{uuid.uuid4().hex[:6]}")
    runtime = Runtime.open(settings)  # migrate before the workers start, so they do not race
    engine = Engine(runtime, role="api", executes=False)
    engine.launch()
    procs = start_workers(url, tmp, workers)
    jobs_svc = JobService(runtime, engine)
    try:
        warm = [jobs_svc.submit(SubmitJob(pipeline="noop"))[0].id for _ in range(10 * workers)]
        _wait_ended(jobs_svc, len(warm))
        ids = [jobs_svc.submit(SubmitJob(pipeline="noop"))[0].id for _ in range(jobs)]
        _wait_ended(jobs_svc, len(warm) + jobs)
        final = [jobs_svc.get(i) for i in ids]
    finally:
        engine.shutdown()
        runtime.close()
        stop(procs)
        drop_db(admin_url, url)
    elapsed = max(j.ended_at for j in final).timestamp() - min(j.created_at for j in final).timestamp()
    lat = [(j.started_at - j.created_at).total_seconds() * 1000 for j in final if j.started_at]
    per_worker: dict[str, int] = {}
    for j in final:
        per_worker[j.worker_id or "?"] = per_worker.get(j.worker_id or "?", 0) + 1
    return {"workers": workers, "jobs": jobs, "succeeded": sum(j.status.value == "SUCCEEDED" for j in final),
            "seconds": elapsed, "jobs_per_s": jobs / elapsed, "start_p50_ms": pct(lat, 50),
            "start_p99_ms": pct(lat, 99), "jobs_per_worker": per_worker}


def run_scaling(admin_url: str, workers: int, jobs: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", str(workers), "--jobs", str(jobs),
                          "--postgres", admin_url], capture_output=True, text=True, timeout=1800, cwd=ROOT)
    if out.returncode != 0:
        return {"workers": workers, "error": out.stderr[-2000:]}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# -- soak --------------------------------------------------------------------------------------
def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time (MB/min) over the second half (after warm-up)."""
    half = samples[len(samples) // 2:]
    if len(half) < 2:
        return float("nan")
    xs, ys = [t / 60 for t, _ in half], [m for _, m in half]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else float("nan")


def soak(admin_url: str, minutes: float, rate: float, sample_s: float) -> dict[str, Any]:
    import httpx
    from tests.support.server import ServerProcess

    tmp = Path(tempfile.mkdtemp(prefix="montage-soak-"))
    url, _ = postgres_database(admin_url)  # kept after the run
    api = ServerProcess(tmp / "data", url, extra_args=["--no-worker"]).start()
    workers = start_workers(url, tmp, 2)
    procs = {"api": api.proc.pid if api.proc else 0, **{f"worker-{n}": p.pid for n, p in enumerate(workers)}}
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in procs}
    stop_event, sent, refused = threading.Event(), [0], [0]
    started = time.monotonic()

    def sample() -> None:
        while not stop_event.wait(sample_s):
            for name, pid in procs.items():
                if (mb := rss_mb(pid)) is not None:
                    samples[name].append((time.monotonic() - started, mb))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with httpx.Client(base_url=api.url, timeout=30, limits=httpx.Limits(max_connections=16)) as client, \
                ThreadPoolExecutor(max_workers=16) as pool:
            def post() -> bool:
                return client.post("/api/v1/jobs", json={"pipeline": "noop"}).status_code == 201

            # An open loop: each job is sent at its own time whether or not earlier ones have
            # answered (16 in flight at most), so a slow answer does not lower the offered rate.
            end, posts = started + minutes * 60, []
            while (now := time.monotonic()) < end:
                due = started + len(posts) / rate
                if due > now:
                    time.sleep(due - now)
                posts.append(pool.submit(post))
            sent[0] = len(posts)
            refused[0] = sum(not f.result() for f in posts)
            offered_s = time.monotonic() - started
            def count(*statuses: str) -> int:
                return int(client.get("/api/v1/jobs", params={"status": list(statuses), "limit": 1}).json()["total"])

            deadline = time.monotonic() + 300
            while count("SUCCEEDED", "FAILED", "CANCELED") < sent[0] - refused[0] and time.monotonic() < deadline:
                time.sleep(0.2)
            succeeded, failed = count("SUCCEEDED"), count("FAILED", "CANCELED")
    finally:
        stop_event.set()
        sampler.join(timeout=10)
        stop(workers)
        api.stop()
        drop_db(admin_url, url)
    return {"minutes": minutes, "rate": rate, "achieved_rate": sent[0] / offered_s, "sent": sent[0],
            "refused": refused[0], "succeeded": succeeded,
            "failed": failed,
            "rss": {name: {"first_mb": s[0][1] if s else None, "last_mb": s[-1][1] if s else None,
                           "max_mb": max((m for _, m in s), default=None),
                           "slope_mb_per_min": slope_mb_per_min(s), "samples": s}
                    for name, s in samples.items()}}


# -- driver ------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000, help="No-op jobs per worker count.")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts to measure, comma-separated.")
    parser.add_argument("--soak-minutes", type=float, default=1.0, help="Soak length (0: no soak).")
    parser.add_argument("--soak-rate", type=float, default=20.0, help="Jobs per second during the soak.")
    parser.add_argument("--sample-s", type=float, default=5.0, help="RSS sampling period.")
    parser.add_argument("--postgres", default=os.environ.get("MONTAGE_TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="Skip the bare DBOS workflow measured first as the baseline.")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(scaling_child(args.postgres, args.child, args.jobs)))
        return
    results: dict[str, Any] = {"machine": machine(), "baseline": None, "scaling": [], "soak": None}
    if args.baseline:  # the same machine's bare DBOS speed in this run: the figures' yardstick
        print(f"… bare DBOS baseline, {args.jobs} jobs", file=sys.stderr, flush=True)
        results["baseline"] = run_child("bare-dbos", "postgres", args.jobs, args.postgres)
    for count in (int(n) for n in args.workers.split(",") if n.strip()):
        print(f"… {count} worker(s), {args.jobs} jobs", file=sys.stderr, flush=True)
        results["scaling"].append(run_scaling(args.postgres, count, args.jobs))
    if args.soak_minutes > 0:
        print(f"… soak {args.soak_minutes} min at {args.soak_rate} jobs/s", file=sys.stderr, flush=True)
        results["soak"] = soak(args.postgres, args.soak_minutes, args.soak_rate, args.sample_s)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(results, indent=2))
    report(results)


def report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}")
    base = results.get("baseline") or {}
    if "jobs_per_s" in base:
        print(f"baseline: bare DBOS (one workflow, one step, one process) {base['jobs_per_s']:.1f} jobs/s")
    print(f"{'workers':>8}{'jobs':>7}{'ok':>7}{'jobs/s':>9}{'start p50':>11}{'start p99':>11}  per worker")
    for r in results["scaling"]:
        if "error" in r:
            print(f"{r['workers']:>8}  ERROR {r['error'][-300:]}")
            continue
        print(f"{r['workers']:>8}{r['jobs']:>7}{r['succeeded']:>7}{r['jobs_per_s']:>9.1f}{r['start_p50_ms']:>11.1f}"
              f"{r['start_p99_ms']:>11.1f}  {sorted(r['jobs_per_worker'].values())}")
    soak_result = results.get("soak")
    if soak_result:
        print(f"soak: {soak_result['minutes']} min at {soak_result['rate']} jobs/s offered "
              f"({soak_result['achieved_rate']:.1f} sent): sent {soak_result['sent']}, "
              f"refused {soak_result['refused']}, succeeded {soak_result['succeeded']}, "
              f"failed {soak_result['failed']}")
        print(f"{'process':>10}{'first MB':>10}{'last MB':>9}{'max MB':>8}{'MB/min (2nd half)':>19}")
        for name, r in soak_result["rss"].items():
            if r["first_mb"] is None:
                continue
            print(f"{name:>10}{r['first_mb']:>10.1f}{r['last_mb']:>9.1f}{r['max_mb']:>8.1f}"
                  f"{r['slope_mb_per_min']:>19.2f}")


if __name__ == "__main__":
    main()
