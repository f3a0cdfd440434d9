"""Use cases of processing servers: register, read, change, delete, probe, hand out, free.

Each server has its own DBOS queue whose global concurrency is its ``batch_size``; this
service keeps the queue in step with the row (see :mod:`montage.engine.server_queues`).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from montage import outbound
from montage.domain.servers import (
    Server,
    ServerStatus,
    check_batch_size,
    check_name,
    check_url,
    parse_status,
    parse_type,
)
from montage.errors import ServerInUse, ServerNameTaken, ValidationFailed
from montage.services.runtime import Runtime
from montage.services.server_probes import probe
from montage.store import servers as repo
from montage.store.jobs import utcnow

log = logging.getLogger("montage.servers")


class QueuePort(Protocol):
    """The engine's per-server queues."""

    def ensure(self, name: str, batch_size: int, *, update: bool = True) -> None: ...
    def drop(self, name: str) -> None: ...


@dataclass(frozen=True)
class NewServer:
    name: Any
    url: Any
    type: Any = "local"
    enabled: Any = True
    batch_size: Any = 1


class ServerService:
    def __init__(self, runtime: Runtime, queues: QueuePort) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.settings = runtime.settings
        self.queues = queues

    # -- register, read, change, delete -------------------------------------------------------
    def register(self, new: NewServer) -> Server:
        """A new server, offline until its first probe. 400 for bad fields, 409 for a taken name."""
        name = check_name(new.name)
        fields = {"url": checked_url(new.url), "type": parse_type(new.type).value,
                  "enabled": _flag(new.enabled, "enabled"), "batch_size": check_batch_size(new.batch_size)}
        taken = ServerNameTaken(f"a server named {name!r} is already registered", field="name", received=name)
        try:
            with self.db.transaction() as s:
                if repo.name_taken(s, name):
                    raise taken
                server = repo.insert_server(s, name=name, status=ServerStatus.OFFLINE.value, **fields)
        except IntegrityError:
            raise taken from None
        try:
            self.queues.ensure(server.name, server.batch_size)
        except Exception:
            with self.db.transaction() as s:
                repo.delete_server(s, server.id)
            raise
        return server

    def list_servers(self, *, skip: int = 0, limit: int = 100) -> list[Server]:
        with self.db.read() as s:
            return repo.list_servers(s, skip=skip, limit=limit)

    def get(self, key: str | int) -> Server:
        with self.db.read() as s:
            return repo.load_server(s, key)

    def available(self) -> list[Server]:
        """Enabled, online and not processing a task."""
        with self.db.read() as s:
            return repo.available_servers(s)

    def update(self, key: str | int, changes: dict[str, Any]) -> Server:
        """Change url, type, enabled or batch_size (fields absent or None stay as they are)."""
        checks = {"url": checked_url, "batch_size": check_batch_size, "enabled": lambda v: _flag(v, "enabled"),
                  "type": lambda v: parse_type(v).value}
        fields = {k: checks[k](v) for k, v in changes.items() if k in checks and v is not None}
        with self.db.transaction() as s:
            server = repo.load_server(s, key)
            if "type" in fields and fields["type"] != server.type.value and server.current_task_id:
                raise ServerInUse(f"server {server.name!r} is processing task {server.current_task_id}; "
                                  "change its type once it is done", task_id=server.current_task_id)
            if fields.get("url", server.url) != server.url or "type" in fields:
                fields["next_check_at"] = None  # probe the new address at once
            server = repo.update_server(s, server.id, **fields)
        if "batch_size" in fields:
            self.queues.ensure(server.name, server.batch_size)
        return server

    def delete(self, key: str | int) -> None:
        with self.db.transaction() as s:
            server = repo.load_server(s, key)
            if server.current_task_id is not None:
                raise ServerInUse(f"server {server.name!r} is processing task {server.current_task_id}",
                                  task_id=server.current_task_id)
            repo.delete_server(s, server.id)
        self.queues.drop(server.name)

    def set_status(self, key: str | int, status: Any) -> Server:
        target = parse_status(status)
        with self.db.transaction() as s:
            server = repo.load_server(s, key)
            return repo.update_server(s, server.id, status=target.value)

    # -- health ---------------------------------------------------------------------------
    def check_health(self, key: str | int) -> tuple[bool, Server]:
        """Probe the server now (bounded by a timeout), record the result, move its status."""
        server = self.get(key)
        return self._probe_and_record(server)

    def _probe_and_record(self, server: Server) -> tuple[bool, Server]:
        error = probe(self.runtime, server)
        with self.db.transaction() as s:
            recorded = repo.record_probe(s, server.id, healthy=error is None, error=error)
        if recorded is not None and recorded.status != server.status:
            log.info("server %s is now %s%s", server.name, recorded.status.value, f" ({error})" if error else "")
        return error is None, recorded or server

    def refresh_if_unchecked(self, server: Server) -> Server:
        """A server never probed yet is probed now, so a batch right after registering can start."""
        return self._probe_and_record(server)[1] if server.checked_at is None else server

    def probe_due(self) -> int:
        """Probe every server whose check is due; each probe is taken by one process only."""
        interval = timedelta(seconds=self.settings.server_health_interval_s)
        now = utcnow()
        with self.db.read() as s:
            due = repo.due_for_check(s, now)
        if not due:
            return 0  # the usual tick: no write lock taken
        with self.db.transaction() as s:
            mine = [server for server, seen in due if repo.claim_check(s, server.id, seen, now + interval)]
        if mine:
            with ThreadPoolExecutor(max_workers=min(8, len(mine)), thread_name_prefix="montage-probe") as pool:
                list(pool.map(self._probe_and_record, mine))
        return len(mine)

    def sync_queues(self) -> None:
        """Create the servers' queues missing from the system database (after a fresh one). An
        existing queue is left as it is: a change made meanwhile must not be undone by this
        older read."""
        for server in self.list_servers(limit=10_000):
            self.queues.ensure(server.name, server.batch_size, update=False)

    # -- handing a server to a batch ------------------------------------------------------------
    def claim(self, server: Server, task_id: str) -> bool:
        with self.db.transaction() as s:
            return repo.claim(s, server.id, task_id)

    def release(self, server_name: str, task_id: str) -> bool:
        with self.db.transaction() as s:
            return repo.release(s, server_name, task_id)

    def held(self) -> list[Server]:
        with self.db.read() as s:
            return repo.held_servers(s)


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(f"{field} must be true or false (got {value!r})", field=field, received=value)
    return value


def checked_url(url: object) -> str:
    """A server URL: valid http(s), and not a literal address montage must never call."""
    return outbound.check_literal(check_url(url))
