"""Task-manager benchmark: the contract's performance figures, with Celery on Redis as the peer.

Targets (shared/seeds/task-manager-api.md): 50 concurrent clients, ≥ 100 tasks/s sustained
through POST /api/v1/tasks, API p99 < 50 ms, enqueue→start < 1 s p99.

  montage-sqlite    `montage serve` on SQLite (API and executor in one process)
  montage-postgres  `montage serve` on a fresh PostgreSQL database (API and executor in one process)
  montage-pg-1w     `montage serve --no-worker` and one `montage worker` on PostgreSQL, as it scales out
                    (``--pg-workers N``: N workers; 0 leaves this run out)
  celery-redis      a Celery worker (threads, concurrency 8) on Redis; 50 threads call
                    apply_async (no HTTP: its "API latency" is the enqueue call)

Each run offers ``--rate`` tasks/s in total (0: as fast as the clients can) from 50 clients for
``--duration`` seconds, then waits for the queue to drain. Every task is a no-op. Prints a
table, the ratios montage/celery, and writes bench/results/tasks.json.

    python bench/tasks.py [--duration 60] [--rate 100] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
                          [--pg-workers 1] [--skip sqlite postgres celery]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
CLIENTS = 50

from bench.databases import postgres_database  # noqa: E402
from bench.polling import pct, production_polling  # noqa: E402


def paced(rate: float, clients: int, duration: float) -> list[float]:
    """Each client's send offsets (seconds from start) for an even total ``rate``; empty: flat out."""
    if rate <= 0:
        return []
    gap = clients / rate
    return [i * gap for i in range(int(duration / gap) + 1)]


# -- montage ----------------------------------------------------------------------------------
async def _post_loop(client: Any, url: str, offsets: list[float], start: float, stop: float,
                     out: list[tuple[float, int | str]], index: int) -> None:
    body = {"task_type": "noop", "kb_id": "bench", "payload": {"client": index}}
    step = 0
    while True:
        now = time.perf_counter()
        if offsets:
            if step >= len(offsets):
                return
            due = start + offsets[step] + index * (offsets[1] if len(offsets) > 1 else 0) / CLIENTS
            step += 1
            if due > now:
                await asyncio.sleep(due - now)
        if time.perf_counter() >= stop:
            return
        sent = time.perf_counter()
        try:
            async with client.post(url, json=body) as response:
                await response.read()
                status: int | str = response.status
        except Exception as exc:
            status = type(exc).__name__
        out.append((time.perf_counter() - sent, status))


async def _load(base: str, rate: float, duration: float) -> tuple[list[tuple[float, int | str]], float]:
    # aiohttp: on this shared 2-core machine httpx's client spent 2 ms of CPU per request (a fifth
    # of the server's), aiohttp's a third of that (bench/polling.py)
    import aiohttp

    out: list[tuple[float, int | str]] = []
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:
        # warm up the connections, the first queries and the executor (on a new database the
        # executor starts polling its queues up to a second after they are registered)
        warm = []
        for _ in range(20):
            async with client.post(f"{base}/api/v1/tasks", json={"task_type": "noop", "kb_id": "warmup",
                                                                 "payload": {}}) as response:
                warm.append((await response.json())["id"])
        for task_id in warm:
            while True:
                async with client.get(f"{base}/api/v1/tasks/{task_id}") as response:
                    if (await response.json())["status"] == "completed":
                        break
                await asyncio.sleep(0.02)
        start = time.perf_counter()
        stop = start + duration
        offsets = paced(rate, CLIENTS, duration)
        await asyncio.gather(*(_post_loop(client, f"{base}/api/v1/tasks", offsets, start, stop, out, i)
                               for i in range(CLIENTS)))
        return out, time.perf_counter() - start


def _job_times(url: str) -> list[tuple[float, float | None, float | None]]:
    from sqlalchemy import create_engine, select

    from montage.settings import normalise_database_url
    from montage.store.models import JobRow

    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        rows = conn.execute(select(JobRow.created_at, JobRow.started_at, JobRow.ended_at, JobRow.input)
                            .where(JobRow.facade == "tasks")).all()
    engine.dispose()

    def ts(value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, str):
            from datetime import datetime

            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=None).timestamp() if value.tzinfo is None else value.timestamp()

    return [(ts(r[0]) or 0.0, ts(r[1]), ts(r[2])) for r in rows if r[3].get("kb_id") == "bench"]


def montage_run(name: str, database_url: str | None, rate: float, duration: float,
                workers: int = 0) -> dict[str, Any]:
    """One `montage serve`; with ``workers`` it serves the API only and that many `montage worker`
    processes execute (PostgreSQL)."""
    from tests.support.server import ServerProcess

    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    env = {"MONTAGE_LOG_LEVEL": "WARNING", **production_polling()}  # as installed, not the tests' fast polling
    server = ServerProcess(tmp / "data", database_url, env=env,
                           extra_args=["--no-worker"] if workers else []).start()
    executors = [ServerProcess(tmp / "data", database_url, command="worker", env=env,
                               extra_args=["--executor-id", f"bench-worker-{n}"]).start() for n in range(workers)]
    try:
        samples, elapsed = asyncio.run(_load(server.url, rate, duration))
        drained = _drain(database_url or f"sqlite:///{tmp / 'data' / 'montage.db'}", sum(1 for _, s in samples
                                                                                          if s == 201))
    finally:
        for proc in [server, *executors]:
            proc.stop()
    return {"name": name, **_summary(samples, elapsed), **drained}


def _drain(url: str, expected: int, timeout: float = 600) -> dict[str, Any]:
    started = time.perf_counter()
    while True:
        times = _job_times(url)
        done = [t for t in times if t[2] is not None]
        if len(done) >= expected or time.perf_counter() - started > timeout:
            break
        time.sleep(1.0)
    waits = [(s - c) * 1000 for c, s, _ in times if s is not None]
    span = (max(t[2] for t in done) - min(t[0] for t in times)) if done else float("nan")
    return {"executed": len(done), "start_p50_ms": pct(waits, 50), "start_p99_ms": pct(waits, 99),
            "executed_per_s": len(done) / span if done else 0.0, "drain_s": time.perf_counter() - started}


def _summary(samples: list[tuple[float, int | str]], elapsed: float) -> dict[str, Any]:
    ok = [lat * 1000 for lat, status in samples if status in (200, 201)]
    kinds = Counter(str(status) for _, status in samples if status not in (200, 201))
    return {"requests": len(samples), "accepted": len(ok), "errors": len(samples) - len(ok),
            "error_kinds": dict(kinds),
            "accepted_per_s": len(ok) / elapsed, "api_p50_ms": pct(ok, 50), "api_p99_ms": pct(ok, 99),
            "api_max_ms": max(ok) if ok else float("nan"), "seconds": elapsed}


# -- celery ------------------------------------------------------------------------------------
def celery_run(rate: float, duration: float) -> dict[str, Any]:
    import redis
    from bench import celery_noop

    store = redis.Redis.from_url(celery_noop.BROKER)
    store.delete(celery_noop.TIMES_KEY, celery_noop.QUEUE)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bench.celery_noop", "worker", "--pool=threads", "--concurrency=8",
         "--loglevel=WARNING", "-Q", celery_noop.QUEUE, "-n", f"bench-{uuid.uuid4().hex[:6]}@%h"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        for _ in range(20):
            celery_noop.noop.apply_async(args=[time.time()])
        _wait_count(store, celery_noop.TIMES_KEY, 20, 60)
        store.delete(celery_noop.TIMES_KEY)
        samples, elapsed = _celery_load(rate, duration)
        drained_from = time.perf_counter()
        _wait_count(store, celery_noop.TIMES_KEY, len(samples), 600)
        pairs = [tuple(map(float, raw.split())) for raw in store.lrange(celery_noop.TIMES_KEY, 0, -1)]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        store.delete(celery_noop.TIMES_KEY, celery_noop.QUEUE)
    waits = [(started - sent) * 1000 for sent, started in pairs]
    span = max(p[1] for p in pairs) - min(p[0] for p in pairs) if pairs else float("nan")
    return {"name": "celery-redis", **_summary(samples, elapsed), "executed": len(pairs),
            "start_p50_ms": pct(waits, 50), "start_p99_ms": pct(waits, 99),
            "executed_per_s": len(pairs) / span if pairs else 0.0, "drain_s": time.perf_counter() - drained_from}


def _wait_count(store: Any, key: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while store.llen(key) < count and time.monotonic() < deadline:
        time.sleep(0.2)


def _celery_load(rate: float, duration: float) -> tuple[list[tuple[float, int | str]], float]:
    from bench import celery_noop

    offsets = paced(rate, CLIENTS, duration)
    out: list[tuple[float, int | str]] = []
    lock = threading.Lock()
    start = time.perf_counter()
    stop = start + duration

    def client(index: int) -> None:
        step = 0
        while True:
            if offsets:
                if step >= len(offsets):
                    return
                due = start + offsets[step] + index * (offsets[1] if len(offsets) > 1 else 0) / CLIENTS
                step += 1
                if due > time.perf_counter():
                    time.sleep(due - time.perf_counter())
            if time.perf_counter() >= stop:
                return
            sent = time.perf_counter()
            celery_noop.noop.apply_async(args=[time.time()])
            with lock:
                out.append((time.perf_counter() - sent, 201))

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    return out, time.perf_counter() - start


# -- main --------------------------------------------------------------------------------------
COLUMNS = [("name", "{:<17}"), ("accepted_per_s", "{:>9.1f}"), ("api_p50_ms", "{:>8.1f}"), ("api_p99_ms", "{:>8.1f}"),
           ("start_p50_ms", "{:>9.1f}"), ("start_p99_ms", "{:>9.1f}"), ("executed_per_s", "{:>9.1f}"),
           ("errors", "{:>6}"), ("drain_s", "{:>7.1f}")]


def print_table(rows: list[dict[str, Any]]) -> None:
    print(" ".join(f"{c[0][:17]:>9}" if i else f"{c[0]:<17}" for i, c in enumerate(COLUMNS)))
    for row in rows:
        print(" ".join(fmt.format(row[key]) for key, fmt in COLUMNS))
    for row in rows:
        if row.get("error_kinds"):
            print(f"{row['name']} errors: " + ", ".join(f"{k} ×{v}" for k, v in row["error_kinds"].items()))


def ratios(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    peer = next((r for r in rows if r["name"] == "celery-redis"), None)
    if peer is None:
        return {}
    keys = ("accepted_per_s", "api_p99_ms", "start_p99_ms", "executed_per_s")
    return {r["name"]: {k: round(r[k] / peer[k], 3) if peer[k] else float("nan") for k in keys}
            for r in rows if r is not peer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load per run.")
    parser.add_argument("--rate", type=float, default=100.0, help="Offered tasks/s in total (0: flat out).")
    parser.add_argument("--postgres", default=os.environ.get("MONTAGE_TEST_POSTGRES_URL"),
                        help="Admin URL of a PostgreSQL server (a fresh database is made).")
    parser.add_argument("--skip", nargs="*", default=[], help="Runs to leave out: sqlite postgres celery.")
    parser.add_argument("--pg-workers", type=int, default=1,
                        help="Also run PostgreSQL with an API-only server and this many `montage worker`s "
                             "(0: not). One `montage serve` on PostgreSQL is bound by one interpreter.")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    if "sqlite" not in args.skip:
        rows.append(montage_run("montage-sqlite", None, args.rate, args.duration))
    if args.postgres and "postgres" not in args.skip:
        url, drop = postgres_database(args.postgres)
        try:
            rows.append(montage_run("montage-postgres", url, args.rate, args.duration))
        finally:
            drop()
    if args.postgres and args.pg_workers:
        url, drop = postgres_database(args.postgres)
        try:
            rows.append(montage_run(f"montage-pg-{args.pg_workers}w", url, args.rate, args.duration,
                                    workers=args.pg_workers))
        finally:
            drop()
    if "celery" not in args.skip:
        rows.append(celery_run(args.rate, args.duration))
    print(f"\n{CLIENTS} clients, offered rate {args.rate or 'flat out'} tasks/s, {args.duration:.0f} s per run")
    print_table(rows)
    rel = ratios(rows)
    for name, values in rel.items():
        print(f"{name} / celery-redis: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"tasks-{'max' if not args.rate else int(args.rate)}.json"
    out.write_text(json.dumps({"clients": CLIENTS, "rate": args.rate, "duration_s": args.duration, "runs": rows,
                               "ratios_vs_celery": rel, "cpus": os.cpu_count()}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
