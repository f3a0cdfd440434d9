"""Several montage processes on one PostgreSQL database: API replicas and workers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from montage.settings import normalise_database_url
from tests.support.databases import fresh_database
from tests.support.server import ServerProcess
from tests.support.waiting import wait_for

#: Fast heartbeats and a short death timeout, so takeover tests take seconds.
FAST_FAILOVER = {"MONTAGE_HEARTBEAT_INTERVAL_S": "0.3", "MONTAGE_WORKER_DEAD_AFTER_S": "2.5"}


class Cluster:
    """API replicas (`montage serve --no-worker`) and workers sharing one database and data folder."""

    def __init__(self, tmp: Path, url: str, env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.url = url
        self.env = {**FAST_FAILOVER, **(env or {})}
        self.data_dir = tmp / "data"
        self.apis: list[ServerProcess] = []
        self.workers: dict[str, ServerProcess] = {}
        self.db: Engine = create_engine(normalise_database_url(url), pool_pre_ping=True)  # survives a PG restart

    def add_api(self, *, data_dir: Path | None = None, env: dict[str, str] | None = None) -> ServerProcess:
        api = ServerProcess(data_dir or self.data_dir, self.url, extra_args=["--no-worker"],
                            env={**self.env, **(env or {})})
        self.apis.append(api)
        return api.start()

    def add_worker(self, executor_id: str, *, labels: str | None = None, env: dict[str, str] | None = None,
                   data_dir: Path | None = None) -> ServerProcess:
        args = ["--executor-id", executor_id, *(["--labels", labels] if labels else [])]
        worker = ServerProcess(data_dir or self.data_dir, self.url, extra_args=args, env={**self.env, **(env or {})},
                               command="worker")
        self.workers[executor_id] = worker.start()
        wait_for(lambda: self.worker_status(executor_id) in ("idle", "busy"), timeout=60, interval=0.1,
                 what=f"worker {executor_id} to send a heartbeat")
        return worker

    def restart_worker(self, executor_id: str) -> ServerProcess:
        """Start a killed or stopped worker again under the same id; returns once it beats."""
        worker = self.workers[executor_id]
        with self.db.connect() as conn:
            since = conn.execute(text("SELECT now()")).scalar()
        worker.start()
        try:
            wait_for(lambda: self._beat_since(executor_id, since), timeout=90, interval=0.1,
                     what=f"worker {executor_id} to beat again")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{worker.log()}") from None
        return worker

    def _beat_since(self, executor_id: str, since: Any) -> bool:
        with self.db.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM workers WHERE id = :id AND last_heartbeat > :t"),
                                     {"id": executor_id, "t": since}).scalar())

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.db.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def worker_status(self, executor_id: str) -> str | None:
        with self.db.connect() as conn:
            return conn.execute(text("SELECT status FROM workers WHERE id = :id"), {"id": executor_id}).scalar()

    def worker_row(self, executor_id: str) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = conn.execute(text("SELECT * FROM workers WHERE id = :id"), {"id": executor_id}).mappings().one()
            return dict(row)

    def stage_starts(self, job_id: str) -> dict[str, int]:
        """How many times each stage of the job started (one 'started' stage event per run)."""
        with self.db.connect() as conn:
            rows = conn.execute(text("SELECT stage, payload FROM events WHERE job_id = :id AND kind = 'stage'"),
                                {"id": job_id}).all()
        counts: dict[str, int] = {}
        for stage, payload in rows:
            if (payload or {}).get("state") == "started":
                counts[stage] = counts.get(stage, 0) + 1
        return counts

    def stop(self) -> None:
        for proc in [*self.workers.values(), *self.apis]:
            proc.stop()
        self.db.dispose()

    def logs(self) -> str:
        return "\n".join(f"--- {p.command} {p.extra_args}\n{p.log()}" for p in [*self.apis, *self.workers.values()])


@contextmanager
def cluster(tmp: Path, env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """A fresh PostgreSQL database and a cluster on it; every process is stopped at the end."""
    with fresh_database("postgres", tmp) as url:
        assert url is not None
        group = Cluster(tmp, url, env)
        try:
            yield group
        finally:
            group.stop()
