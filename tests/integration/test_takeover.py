"""Which executors are dead and who takes them over, on real databases (DBOS's recovery is faked
here; tests/chaos kills real worker processes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from montage.engine.takeover import Takeover
from montage.services.runtime import Runtime
from montage.store import executors as executors_repo
from montage.store import records
from montage.store.jobs import utcnow
from montage.store.models import WorkerRow
from tests.integration.conftest import make_settings
from tests.support.databases import fresh_database


@pytest.fixture
def runtime(backend: str, tmp_path: Path) -> Iterator[Runtime]:
    with fresh_database(backend, tmp_path) as url:
        rt = Runtime.open(make_settings(tmp_path, url, worker_dead_after_s=10))
        try:
            yield rt
        finally:
            rt.close()


def beat(runtime: Runtime, executor_id: str, *, age_s: float = 0.0, status: str = "busy") -> None:
    with runtime.db.transaction() as s:
        records.heartbeat(s, executor_id, hostname="h", pid=1, role="worker", labels={}, status=status,
                          current_job_id=None)
        row = s.get(WorkerRow, executor_id)
        assert row is not None
        row.last_heartbeat = utcnow() - timedelta(seconds=age_s)


def status(runtime: Runtime, executor_id: str) -> str:
    with runtime.db.read() as s:
        return str(s.scalar(select(WorkerRow.status).where(WorkerRow.id == executor_id)))


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, executor_id: str) -> int:
        self.calls.append(executor_id)
        return 3


def test_only_executors_past_the_timeout_or_stopped_are_taken_over_once(runtime: Runtime) -> None:
    beat(runtime, "me")
    beat(runtime, "alive", age_s=2)
    beat(runtime, "dead", age_s=60)
    beat(runtime, "left", status="busy")
    with runtime.db.transaction() as s:
        executors_repo.mark_stopped(s, "left")
    recover = Recorder()
    taker = Takeover(runtime, "me", recover=recover)
    assert taker.tick() == ["dead", "left"]
    assert recover.calls == ["dead", "left"]
    assert status(runtime, "dead") == "taken_over" and status(runtime, "alive") == "busy"
    with runtime.db.read() as s:
        row = s.get(WorkerRow, "dead")
        assert row is not None and row.labels["taken_over"]["by"] == "me"
        assert row.labels["taken_over"]["workflows"] == 3
    assert taker.tick() == [] and recover.calls == ["dead", "left"]  # nothing twice
    assert Takeover(runtime, "someone-else", recover=recover).tick() == []


def test_an_executor_never_takes_itself_over_and_one_that_returns_is_alive_again(runtime: Runtime) -> None:
    beat(runtime, "me", age_s=60)
    recover = Recorder()
    assert Takeover(runtime, "me", recover=recover).tick() == []
    assert Takeover(runtime, "other", recover=recover).tick() == ["me"]
    beat(runtime, "me")  # it came back: its heartbeat makes it a live executor again
    assert status(runtime, "me") == "busy"


def test_a_dead_executor_locked_by_another_taker_is_skipped(runtime: Runtime, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("row locks: PostgreSQL (SQLite runs one executor)")
    beat(runtime, "dead", age_s=60)
    recover = Recorder()
    with runtime.db.transaction() as s:  # another executor is taking it over right now
        assert executors_repo.claim_dead_executor(s, "dead", stale_before=utcnow()) is not None
        assert Takeover(runtime, "me", recover=recover).tick() == []
    assert recover.calls == []
    assert Takeover(runtime, "me", recover=recover).tick() == ["dead"]


def test_no_takeover_until_this_executors_own_heartbeats_have_gone_through_for_the_timeout(
        runtime: Runtime) -> None:
    beat(runtime, "quiet", age_s=60)  # after a database outage every heartbeat is old
    recover = Recorder()
    assert Takeover(runtime, "me", recover=recover, beating_for=lambda: 3.0).tick() == []
    assert recover.calls == []
    assert Takeover(runtime, "me", recover=recover, beating_for=lambda: 10.0).tick() == ["quiet"]
