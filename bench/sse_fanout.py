"""SSE fan-out: many subscribers to one web-media job's ``/api/jobs/{id}/events`` (used by media.py).

A real ``montage serve`` (its worker in the same process, as by default) runs one media job
while ``subscribers`` clients — httpx streams on asyncio loops, spread over
``client_processes`` processes — read that job's event stream. Each event's delivery
latency is *its creation time on the server* (the ``ts`` the server writes into every
event's data: the events row's ``created_at``) → *the moment a subscriber has read the whole
frame*, on the same machine's clock. Every subscriber connects before the job starts: the
job is created through the core API with ``start: false`` (same pipeline, input and queue as
``POST /api/jobs``) and started once every stream is open, so every measured event is a
live one, not a replay. Each subscriber also checks that it saw every event of the job once,
in order (ids compared with a fresh replay of the stream after the job ended).

    python bench/sse_fanout.py [--subscribers 200] [--client-processes 2] [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.polling import pct, production_polling  # noqa: E402

FANOUT_PROMPT = "A warrior dashes forward and slashes the enemy, epic orchestral music"
FANOUT_OPTIONS = {"targets": ["scene", "motion", "music", "preview", "export"], "duration_s": 12.0,
                  "style": "cinematic", "mood": "epic", "export_video": True}


def _epoch(iso_ts: str) -> float:
    return datetime.fromisoformat(iso_ts.replace("Z", "+00:00")).timestamp()


# -- client side (runs in the client processes) ---------------------------------------------------
Received = tuple[int, str, float, float]  # event id, event name, server ts, receipt time (epoch s)


class _Frames:
    """SSE frames cut from a byte stream (an event is complete at its blank line)."""

    def __init__(self) -> None:
        self.pending = b""
        self.got: list[Received] = []

    def feed(self, data: bytes, received: float) -> None:
        self.pending += data
        *frames, self.pending = self.pending.split(b"\n\n")
        for raw in frames:
            event = _parse_frame(raw)
            if event is not None:
                self.got.append((*event, received))


def _parse_frame(raw: bytes) -> tuple[int, str, float] | None:
    """(id, event name, server ts) of one SSE frame, or None for a comment or the retry line."""
    event_id, name, data = 0, "", b""
    for line in raw.split(b"\n"):
        if line.startswith(b"id:"):
            event_id = int(line[3:])
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode()
        elif line.startswith(b"data:"):
            data = line[5:]
    return (event_id, name, _epoch(json.loads(data)["ts"])) if data else None


async def _subscribe_httpx(client: Any, url: str, opened: asyncio.Queue[int]) -> list[Received]:
    """One stream read with httpx (its raw bytes: the line iterator costs several times more CPU)."""
    frames = _Frames()
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        announced = False
        async for chunk in response.aiter_raw():
            if not announced:  # the server's first frame ("retry: …"): this stream is open
                opened.put_nowait(1)
                announced = True
            frames.feed(chunk, time.time())
    return frames.got


class _RawStream(asyncio.Protocol):
    """One stream as plain HTTP/1.1 on a socket: GET, the status line, then the chunked body.

    About a tenth of httpx's CPU per event; on a 2-core machine the clients share with the
    server, the clients' own CPU shows up as latency, so this is the default."""

    def __init__(self, request: bytes, opened: asyncio.Queue[int], done: asyncio.Future[list[Received]]) -> None:
        self.request, self.opened, self.done = request, opened, done
        self.head: bytes | None = b""
        self.buffer = b""
        self.frames = _Frames()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        received = time.time()
        if self.head is not None:  # still reading the response head
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            head, data = self.head.split(b"\r\n\r\n", 1)
            self.head = None
            if not head.startswith(b"HTTP/1.1 200"):
                self.done.set_exception(RuntimeError(head.split(b"\r\n", 1)[0].decode()))
                return
            self.opened.put_nowait(1)
        self.buffer += data
        while (end := self.buffer.find(b"\r\n")) >= 0:  # chunked transfer coding
            size = int(self.buffer[:end], 16)
            if len(self.buffer) < end + 2 + size + 2:
                return
            self.frames.feed(self.buffer[end + 2:end + 2 + size], received)
            self.buffer = self.buffer[end + 2 + size + 2:]
            if size == 0 and not self.done.done():
                self.done.set_result(self.frames.got)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("the server closed the stream before its end"))


async def _subscribe_raw(url: str, opened: asyncio.Queue[int]) -> list[Received]:
    parts = urlsplit(url)
    request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n"
               "Connection: close\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[Received]] = loop.create_future()
    transport, _ = await loop.create_connection(lambda: _RawStream(request, opened, done),
                                                parts.hostname, parts.port)
    try:
        return await asyncio.wait_for(done, timeout=600)
    finally:
        transport.close()


async def _client_main(url: str, count: int, client: str, ready: Any, signalled: list[bool]) -> dict[str, Any]:
    import httpx

    opened: asyncio.Queue[int] = asyncio.Queue()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    cpu0 = time.process_time()
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(300.0, connect=60.0)) as http:
        tasks = [asyncio.create_task(_subscribe_httpx(http, url, opened) if client == "httpx"
                                     else _subscribe_raw(url, opened)) for _ in range(count)]
        for _ in range(count):
            await opened.get()
        ready.put(count)
        signalled.append(True)
        runs = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [repr(r) for r in runs if isinstance(r, BaseException)]
    return {"runs": [r for r in runs if not isinstance(r, BaseException)], "errors": errors,
            "cpu_s": time.process_time() - cpu0}


def _client_process(url: str, count: int, client: str, ready: Any, results: Any) -> None:
    signalled: list[bool] = []
    try:
        results.put(asyncio.run(_client_main(url, count, client, ready, signalled)))
    except BaseException as exc:  # report, never hang the parent
        if not signalled:
            ready.put(0)
        results.put({"runs": [], "errors": [repr(exc)], "cpu_s": 0.0})


# -- parent side ----------------------------------------------------------------------------------
#: What the subscribed job is: the full media job, or (to see the delivery cost alone) the demo
#: "steps" pipeline, which only sleeps and reports progress every 50 ms.
JOBS: dict[str, dict[str, Any]] = {
    "media": {"pipeline": "media", "input": {"prompt": FANOUT_PROMPT, "options": FANOUT_OPTIONS}},
    "steps": {"pipeline": "steps", "input": {"seconds": 4.0}},
}


def _create_held_job(base: str, job: str) -> str:
    import httpx

    body = {**JOBS[job], "start": False}
    response = httpx.post(f"{base}/api/v1/jobs", json=body, timeout=60)
    response.raise_for_status()
    return str(response.json()["id"])


def _job(base: str, job_id: str) -> dict[str, Any]:
    import httpx

    return dict(httpx.get(f"{base}/api/jobs/{job_id}", timeout=60).json())


def _replayed_ids(base: str, job_id: str) -> list[int]:
    import httpx

    ids: list[int] = []
    with httpx.stream("GET", f"{base}/api/jobs/{job_id}/events", timeout=120) as response:
        ids.extend(int(line[3:]) for line in response.iter_lines() if line.startswith("id:"))
    return ids


def fan_out(base: str, server_pid: int, subscribers: int, processes: int, job: str = "media",
            client: str = "raw") -> dict[str, Any]:
    """One job (``JOBS[job]``), ``subscribers`` streams on it over ``processes`` client processes."""
    import httpx

    ctx = multiprocessing.get_context("spawn")
    job_id = _create_held_job(base, job)
    url = f"{base}/api/jobs/{job_id}/events"
    processes = max(1, min(processes, subscribers))
    shares = [subscribers // processes + (1 if i < subscribers % processes else 0) for i in range(processes)]
    ready, results = ctx.Queue(), ctx.Queue()
    workers = [ctx.Process(target=_client_process, args=(url, n, client, ready, results), daemon=True) for n in shares]
    for worker in workers:
        worker.start()
    connected = sum(ready.get(timeout=300) for _ in workers)
    server_cpu0 = _cpu_seconds(server_pid)
    started = time.time()
    httpx.post(f"{base}/api/v1/jobs/{job_id}/start", timeout=60).raise_for_status()
    outcomes = [results.get(timeout=900) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    server_cpu = _cpu_seconds(server_pid) - server_cpu0
    job = _job(base, job_id)
    expected = _replayed_ids(base, job_id)
    runs = [run for outcome in outcomes for run in outcome["runs"]]
    return _summarise(runs, expected, started, job, {
        "subscribers": subscribers, "connected": connected, "client_processes": processes, "client": client,
        "job_id": job_id,
        "errors": [e for o in outcomes for e in o["errors"]][:5],
        "error_count": sum(len(o["errors"]) for o in outcomes),
        "client_cpu_s": sum(o["cpu_s"] for o in outcomes), "server_cpu_s": server_cpu,
    })


def _summarise(runs: list[list[tuple[int, str, float, float]]], expected: list[int], started: float,
               job: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    live = [(ev_id, recv - ts) for run in runs for ev_id, _, ts, recv in run if ts >= started]
    latencies_ms = [lat * 1000 for _, lat in live]
    complete = sum(1 for run in runs if [ev_id for ev_id, *_ in run] == expected)
    per_event: dict[int, float] = {}
    for ev_id, lat in live:  # when the last subscriber had each event
        per_event[ev_id] = max(per_event.get(ev_id, 0.0), lat * 1000)
    job_s = _epoch(job["ended_at"]) - _epoch(job["started_at"]) if job.get("ended_at") else float("nan")
    return {**head, "job_status": job["status"], "job_wall_s": job_s, "events_per_stream": len(expected),
            "streams_complete": complete, "deliveries": len(latencies_ms),
            "p50_ms": pct(latencies_ms, 50), "p90_ms": pct(latencies_ms, 90), "p99_ms": pct(latencies_ms, 99),
            "max_ms": max(latencies_ms, default=float("nan")),
            "last_subscriber_p50_ms": pct(list(per_event.values()), 50),
            "last_subscriber_p99_ms": pct(list(per_event.values()), 99)}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_fanout(subscribers: int, processes: int, port: int = 0, job: str = "media",
                 client: str = "raw") -> dict[str, Any]:
    """Baseline (1 subscriber) then ``subscribers`` on a fresh job each, one server for both."""
    from tests.support.server import ServerProcess

    with tempfile.TemporaryDirectory(prefix="montage-bench-sse-") as folder:
        server = ServerProcess(Path(folder) / "data", env=production_polling())
        if port:
            server.port, server.url = port, f"http://127.0.0.1:{port}"
        try:
            server.start(timeout=180)
            assert server.proc is not None
            fan_out(server.url, server.proc.pid, 1, 1, job, client)  # warm-up: imports, fonts, first job
            alone = fan_out(server.url, server.proc.pid, 1, 1, job, client)
            loaded = fan_out(server.url, server.proc.pid, subscribers, processes, job, client)
        finally:
            server.stop()
    extra = max(1, loaded["deliveries"] - alone["deliveries"])
    return {"job": JOBS[job], "alone": alone, "loaded": loaded, "target_p99_ms": 200.0,
            "server_cpu_ms_per_extra_delivery": (loaded["server_cpu_s"] - alone["server_cpu_s"]) * 1000 / extra,
            "client_cpu_ms_per_delivery": loaded["client_cpu_s"] * 1000 / max(1, loaded["deliveries"]),
            "within_target": loaded["p99_ms"] <= 200.0 and loaded["streams_complete"] == subscribers}


def print_fanout(result: dict[str, Any]) -> None:
    print(f"\nSSE fan-out: one {result['job']['pipeline']} job, every subscriber on /api/jobs/{{id}}/events;"
          "\nlatency = event's server ts → frame read by the subscriber (ms)")
    print(f"{'subscribers':>11} {'complete':>9} {'deliveries':>10} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} "
          f"{'last-sub p99':>12} {'job s':>6} {'server cpu s':>12} {'client cpu s':>12}")
    for name in ("alone", "loaded"):
        row = result[name]
        print(f"{row['subscribers']:>11} {row['streams_complete']:>9} {row['deliveries']:>10} {row['p50_ms']:7.1f} "
              f"{row['p90_ms']:7.1f} {row['p99_ms']:7.1f} {row['max_ms']:7.1f} {row['last_subscriber_p99_ms']:12.1f} "
              f"{row['job_wall_s']:6.2f} {row['server_cpu_s']:12.2f} {row['client_cpu_s']:12.2f}")
        if row["error_count"]:
            print(f"   {row['error_count']} client errors, e.g. {row['errors']}")
    print(f"CPU per delivery: server {result['server_cpu_ms_per_extra_delivery']:.2f} ms (the loaded run's CPU "
          f"above the baseline's, per extra delivery), clients {result['client_cpu_ms_per_delivery']:.2f} ms")
    verdict = "within" if result["within_target"] else "OVER"
    print(f"p99 at {result['loaded']['subscribers']} subscribers: {result['loaded']['p99_ms']:.1f} ms — {verdict} "
          f"the {result['target_p99_ms']:.0f} ms target")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--job", choices=sorted(JOBS), default="media",
                        help="media: the full A+B job, duration_s 12; steps: progress only (delivery cost alone)")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="raw: HTTP/1.1 on asyncio sockets (lean); httpx: httpx streams")
    parser.add_argument("--port", type=int, default=0, help="server port (0: any free one)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "sse_fanout.json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    result = bench_fanout(args.subscribers, args.client_processes, args.port, args.job, args.client)
    result["load_avg_before"], result["load_avg_after"] = load_before, os.getloadavg()
    print_fanout(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nload average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}; wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
