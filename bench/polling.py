"""Many HTTP clients polling a server, as a benchmark sees them (shared by bench/video.py and
bench/engine.py).

Each client has its own connection (its own ``aiohttp.ClientSession``, which spends about a
third of httpx's CPU per request; install with ``make bench-setup``) and GETs its path every
``interval`` seconds, jittered ±20 % (``interval`` 0: the next request as soon as the last one
answers, a closed loop). Clients run on asyncio (uvloop when installed) in ``processes``
processes. Reported: the latency the clients saw (p50/p95/p99/max), the server's own latency
for the route from its ``/metrics`` histogram (time to the response, without the clients'
queueing; a bucket bound, so "at most"), and the CPU each side spent per request.
"""

from __future__ import annotations

import asyncio
import os
import random
import ssl
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx


def production_polling(**overrides: float) -> dict[str, str]:
    """Environment for a benchmarked server that polls its queues as a default install does (the
    test harness polls faster, which costs an idle server a third of a core); ``overrides`` by
    setting name, e.g. ``queue_polling_interval_s=0.02``."""
    from montage.settings import Settings

    names = ("queue_polling_interval_s", "long_queue_polling_interval_s")
    values = {name: overrides.get(name, Settings.model_fields[name].default) for name in names}
    return {f"MONTAGE_{name.upper()}": str(value) for name, value in values.items()}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _client(url: str, path: str, interval: float, until: float, out: list[float], errors: list[str],
                  tls: ssl.SSLContext, headers: dict[str, str]) -> None:
    # aiohttp: on a shared 2-core machine the clients' own queueing must stay small next to the
    # server's latency; httpx's client costs some 2 ms of CPU per request, aiohttp's 0.5.
    try:
        import aiohttp
    except ImportError:
        raise SystemExit("bench/polling.py needs aiohttp: run `make bench-setup` "
                         "(pip install -e '.[dev,bench]')") from None

    connector = aiohttp.TCPConnector(limit=1, ssl=tls)
    async with aiohttp.ClientSession(base_url=url, headers=headers, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as client:
        await asyncio.sleep(random.uniform(0, interval))
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                async with client.get(path) as response:
                    await response.read()
                    if response.status != 200:
                        errors.append(str(response.status))
            except Exception as exc:  # counted, not fatal: e.g. a keep-alive connection the server just closed
                errors.append(type(exc).__name__)
            out.append((time.perf_counter() - started) * 1000)
            if interval:
                await asyncio.sleep(max(0.0, interval * random.uniform(0.8, 1.2) - (time.perf_counter() - started)))


async def _clients(url: str, paths: list[str], interval: float, seconds: float, headers: dict[str, str]
                   ) -> tuple[list[float], list[str]]:
    tls = ssl.create_default_context()
    latencies: list[float] = []
    errors: list[str] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(*(_client(url, path, interval, until, latencies, errors, tls, headers) for path in paths))
    return latencies, errors


def _client_process(url: str, paths: list[str], interval: float, seconds: float, headers: dict[str, str]
                    ) -> tuple[list[float], list[str], float]:
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    started = time.process_time()
    latencies, errors = runner(_clients(url, paths, interval, seconds, headers))
    return latencies, errors, time.process_time() - started


def server_histogram(url: str, route: str) -> dict[float, float]:
    """Cumulative counts of the server's GET latency histogram for ``route``, by bucket bound."""
    label = f'route="{route}"'
    counts: dict[float, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith("montage_http_request_duration_seconds_bucket") and label in line and "GET" in line:
            raw = line.split('le="', 1)[1].split('"', 1)[0]
            bound = float("inf") if raw == "+Inf" else float(raw)
            counts[bound] = counts.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


def histogram_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The bucket bound (ms) under which ``q`` % of the requests between the two scrapes ended."""
    bounds = sorted(after)
    delta = [after[b] - before.get(b, 0.0) for b in bounds]
    total = delta[-1] if delta else 0.0
    for bound, count in zip(bounds, delta, strict=True):
        if total and count >= total * q / 100:
            return bound * 1000
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def poll(url: str, pid: int, paths: list[str], clients: int, interval: float, seconds: float, processes: int,
         route: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """``clients`` clients (client i polls ``paths[i % len(paths)]``) for ``seconds``, against the
    server process ``pid`` at ``url``."""
    processes = max(1, min(processes, clients))
    mine = [[paths[i % len(paths)] for i in range(clients) if i % processes == p] for p in range(processes)]
    before, server_cpu = server_histogram(url, route), cpu_seconds(pid)
    with ProcessPoolExecutor(processes) as pool:
        runs = list(pool.map(_client_process, [url] * processes, mine, [interval] * processes,
                             [seconds] * processes, [headers or {}] * processes))
    server_cpu = cpu_seconds(pid) - server_cpu
    after = server_histogram(url, route)
    latencies = [x for run in runs for x in run[0]]
    errors = [x for run in runs for x in run[1]]
    requests = max(1, len(latencies))
    return {"clients": clients, "interval_s": interval, "client_processes": processes, "requests": len(latencies),
            "req_per_s": len(latencies) / seconds, "errors": len(errors), "error_kinds": sorted(set(errors)),
            "p50_ms": pct(latencies, 50), "p95_ms": pct(latencies, 95), "p99_ms": pct(latencies, 99),
            "max_ms": max(latencies, default=float("nan")),
            "server_p50_ms_at_most": histogram_quantile(before, after, 50),
            "server_p99_ms_at_most": histogram_quantile(before, after, 99),
            "client_cpu_ms_per_request": sum(run[2] for run in runs) * 1000 / requests,
            "server_cpu_ms_per_request": server_cpu * 1000 / requests}
