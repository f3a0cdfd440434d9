"""Authentication cost: p50 time per request with and without an API key.

Prints a table and writes bench/results/auth.json.

One app in this process (its lifespan, DBOS, SQLite), driven over ASGI with no network between
(so the difference is the server's work, not a socket's noise). Three rounds of ``--requests``
requests each, interleaved so drift hits all three alike:

  open     dev mode (no keys configured): the baseline, same run
  key      a valid key in ``Authorization: Bearer`` (warm key cache, as in steady state)
  refused  no key while keys are configured: the 401 path, in the contract's error shape

Route: ``GET /api/v1/pipelines`` (no database read, so auth is not hidden behind a query).
Also the middleware's own decision, timed alone (``authenticate_cached`` + scope), per call.
Target: key p50 - open p50 ≤ 1 ms.

    python bench/auth.py [--requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

from montage.api.app import create_app  # noqa: E402
from montage.api.auth import required_scope  # noqa: E402
from montage.settings import Settings  # noqa: E402

ROUTE = "/api/v1/pipelines"


async def timed(client: httpx.AsyncClient, headers: dict[str, str], count: int, expect: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get(ROUTE, headers=headers)
        samples.append(time.perf_counter() - started)
        assert response.status_code == expect, response.text
    return samples


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def measure(requests: int, data_dir: Path) -> dict[str, Any]:
    app = create_app(Settings(data_dir=data_dir, rate_limit_per_s=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            open_s: list[float] = []
            key_s: list[float] = []
            refused_s: list[float] = []
            key = ""
            for _ in range(3):  # a key per round, revoked at its end: the next round is open again
                await timed(client, {}, 100, 200)
                open_s += await timed(client, {}, requests // 3, 200)
                made = app.state.gate.keys.create("bench", "read")
                key, bearer = made.secret, {"Authorization": f"Bearer {made.secret}"}
                await timed(client, bearer, 100, 200)
                key_s += await timed(client, bearer, requests // 3, 200)
                refused_s += await timed(client, {}, requests // 3, 401)
                decide_us = middleware_decision(app, key)
                app.state.gate.keys.revoke(made.key.id)
    return {"open": open_s, "key": key_s, "refused": refused_s, "decision_us": decide_us}


def middleware_decision(app: Any, key: str, rounds: int = 20000) -> float:
    """µs per call of what the middleware adds for a valid key: cached lookup, scope, rate."""
    gate = app.state.gate
    gate.keys.authenticate(key)  # warm the cache (it is re-read every auth_cache_s)
    started = time.perf_counter()
    for _ in range(rounds):
        principal = gate.keys.authenticate_cached(key)
        assert principal is not None and principal != "miss"
        required_scope("GET", ROUTE)
        gate.rate.take(principal.key_id)
    return (time.perf_counter() - started) / rounds * 1e6


def report(result: dict[str, Any], requests: int) -> dict[str, Any]:
    rows = {name: {"p50_ms": round(p(result[name], 0.5), 3), "p99_ms": round(p(result[name], 0.99), 3),
                   "mean_ms": round(statistics.fmean(result[name]) * 1000, 3), "n": len(result[name])}
            for name in ("open", "key", "refused")}
    added = rows["key"]["p50_ms"] - rows["open"]["p50_ms"]
    print(f"{'round':<10}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, row in rows.items():
        print(f"{name:<10}{row['n']:>7}{row['p50_ms']:>10.3f}{row['p99_ms']:>10.3f}{row['mean_ms']:>10.3f}")
    print(f"\nadded by a key at p50: {added:.3f} ms (target ≤ 1 ms: {'met' if added <= 1.0 else 'NOT met'})")
    print(f"middleware decision alone: {result['decision_us']:.2f} µs per request")
    return {"route": ROUTE, "requests": requests, "rounds": rows, "added_p50_ms": round(added, 3),
            "decision_us": round(result["decision_us"], 2), "target_ms": 1.0, "met": added <= 1.0,
            "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="montage-bench-auth-") as tmp:
        result = asyncio.run(measure(args.requests, Path(tmp) / "data"))
    summary = report(result, args.requests)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "auth.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {RESULTS / 'auth.json'}")


if __name__ == "__main__":
    main()
