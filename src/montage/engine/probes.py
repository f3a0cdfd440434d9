"""Health probes of the durable engine (DBOS), for ``GET /health``."""

from __future__ import annotations

import time
from typing import Any

from dbos import DBOS

from montage.engine.runtime import DEFAULT_QUEUE
from montage.pipelines import all_pipelines
from montage.settings import Settings


def queue_names(settings: Settings) -> list[str]:
    """The queues every executor registers (as ``Engine._register_queues`` does)."""
    return sorted({DEFAULT_QUEUE, *settings.queue_concurrency, *(p.run_queue for p in all_pipelines())})


def dbos_queues(settings: Settings) -> dict[str, Any]:
    """Read every queue back from DBOS's system database: it answers, and the queues exist."""
    started = time.perf_counter()
    names = queue_names(settings)
    missing = [n for n in names if DBOS.retrieve_queue(n) is None]
    detail: dict[str, Any] = {"status": "unhealthy" if missing else "healthy", "queues": names,
                              "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if missing:
        detail["error"] = f"queues missing from the system database: {', '.join(missing)}"
    return detail
