"""Health probes of processing servers, each bounded by a timeout.

- ``comfyui``: ``GET /system_stats`` answers 200 with JSON.
- ``http``: ``GET /health`` answers ``{"status": "ok"}`` (the generic http generator protocol).
- ``local``: one of this montage's executors has sent a heartbeat lately.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from montage.domain.servers import Server, ServerType
from montage.errors import MontageError
from montage.generators.remote import ComfyUIClient, HttpGeneratorClient
from montage.services.runtime import Runtime
from montage.store import records
from montage.store.jobs import utcnow

Probe = Callable[[Runtime, Server, float], None]


def _comfyui(runtime: Runtime, server: Server, timeout: float) -> None:
    with ComfyUIClient(server.url, timeout=timeout, connect_timeout=timeout, use_websocket=False) as client:
        client.system_stats()


def _http(runtime: Runtime, server: Server, timeout: float) -> None:
    with HttpGeneratorClient(server.url, timeout=timeout, connect_timeout=timeout) as client:
        client.health()


def _local(runtime: Runtime, server: Server, timeout: float) -> None:
    recent = utcnow() - timedelta(seconds=max(3 * runtime.settings.heartbeat_interval_s, 15.0))
    with runtime.db.read() as s:
        executors = [w for w in records.workers_seen_since(s, recent) if w.role in ("serve", "worker")]
    if not executors:
        raise MontageError("no montage executor has sent a heartbeat lately", code="NO_EXECUTOR")


PROBES: dict[ServerType, Probe] = {ServerType.COMFYUI: _comfyui, ServerType.HTTP: _http, ServerType.LOCAL: _local}


def probe(runtime: Runtime, server: Server) -> str | None:
    """None when the server is healthy, else why not (one line)."""
    try:
        PROBES[server.type](runtime, server, runtime.settings.server_health_timeout_s)
    except MontageError as exc:
        return f"{exc.code}: {exc.message}"[:500]
    except Exception as exc:  # a probe must never take the monitor down
        return f"{type(exc).__name__}: {exc}"[:500]
    return None
