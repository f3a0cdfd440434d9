"""``estimated_completion`` and ``queue_position`` of tasks behind running ones, on SQLite and
PostgreSQL, each test on a fresh database.

Measured run times are seeded (succeeded jobs of known duration): ``health_check`` 120 s,
``noop`` 20 s. The running tasks are health checks held on the test server's ``/hold`` until
the test releases them, so an estimate is plain arithmetic over the rows: a health check that
started at S ends at S + 120 s, whenever it is read (its timeout, 300 s, is later).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from montage.domain.jobs import Job
from montage.domain.tasks import TaskView
from montage.engine.runtime import Engine
from montage.services.jobs import JobService
from montage.services.runtime import Runtime
from montage.services.task_stats import TaskStats
from montage.services.tasks import NewTask, TaskService
from montage.store import records
from montage.store.jobs import utcnow
from montage.store.models import JobRow
from tests.integration.conftest import Core, drain, make_settings
from tests.support.databases import fresh_database
from tests.support.http_target import HttpTarget
from tests.support.waiting import wait_for

CHECK_S = 120.0
NOOP_S = 20.0
TOLERANCE = timedelta(milliseconds=20)  # datetimes stored and averaged by the database


@dataclass
class EstimateCore:
    core: Core
    http: HttpTarget
    key: str

    @property
    def tasks(self) -> TaskService:
        # a fresh TaskStats for each read: the measured means are not cached across seeding
        return TaskService(self.core.jobs, TaskStats(self.core.runtime))

    def hold(self, timeout_s: float = 300.0) -> Job:
        view = self.tasks.create(NewTask("health_check", "kb_eta", {"url": f"{self.http.url}/hold?key={self.key}",
                                                                     "timeout": 60}, timeout_s=timeout_s))
        return wait_for(lambda: (j := self.core.jobs.get(view.job.id)).status.value == "RUNNING" and j,
                        what="the held task to run")

    def queue(self, n: int, **kwargs: Any) -> list[str]:
        return [self.tasks.create(NewTask("noop", "kb_eta", {"n": i}, **kwargs)).job.id for i in range(n)]

    def read(self, ids: list[str]) -> list[TaskView]:
        return [self.tasks.get(i) for i in ids]


def seed_durations(runtime: Runtime) -> None:
    """Succeeded jobs of each type with a known run time, as if measured."""
    end = utcnow() - timedelta(hours=1)
    with runtime.db.transaction() as s:
        for pipeline, seconds in (("task.health_check", CHECK_S), ("task.noop", NOOP_S)):
            for _ in range(3):
                s.add(JobRow(id=f"job_{uuid.uuid4().hex}", pipeline=pipeline, pipeline_version="1", facade="tasks",
                             input={"kb_id": "kb_seed", "payload": {}}, options={}, status="SUCCEEDED",
                             current_stage=None, progress=100.0, message="done", priority="normal",
                             queue="default", attempts=1, timeout_s=3600.0, created_at=end, updated_at=end,
                             started_at=end - timedelta(seconds=seconds), ended_at=end))


@pytest.fixture
def core_settings() -> dict[str, Any]:
    return {"worker_concurrency": 1}


@pytest.fixture
def ec(backend: str, tmp_path: Path, core_settings: dict[str, Any]) -> Iterator[EstimateCore]:
    with HttpTarget() as http, fresh_database(backend, tmp_path) as url:
        runtime = Runtime.open(make_settings(tmp_path, url, **core_settings))
        seed_durations(runtime)
        engine = Engine(runtime, role="serve", executes=True)
        engine.launch()
        key = uuid.uuid4().hex
        core = Core(runtime=runtime, engine=engine, jobs=JobService(runtime, engine))
        try:
            yield EstimateCore(core, http, key)
        finally:
            http.release(key)
            drain(core)
            engine.shutdown()
            runtime.close()


def close_to(actual: datetime | None, expected: datetime) -> bool:
    return actual is not None and abs(actual - expected) <= TOLERANCE


def test_a_queued_task_waits_for_the_time_left_on_the_running_one(ec: EstimateCore) -> None:
    held = ec.hold()
    assert held.started_at is not None
    end = held.started_at + timedelta(seconds=CHECK_S)
    first, second = ec.read(ec.queue(2))
    running = ec.tasks.get(held.id)
    assert running.queue_position == 0 and close_to(running.estimated_completion, end)
    assert (first.queue_position, second.queue_position) == (1, 2)
    assert close_to(first.estimated_completion, end + timedelta(seconds=NOOP_S))
    assert close_to(second.estimated_completion, end + timedelta(seconds=2 * NOOP_S))


def test_a_running_task_ends_at_its_timeout_at_the_latest(ec: EstimateCore) -> None:
    held = ec.hold(timeout_s=30.0)
    assert held.deadline_at is not None
    [queued] = ec.read(ec.queue(1))
    assert close_to(ec.tasks.get(held.id).estimated_completion, held.deadline_at)
    assert close_to(queued.estimated_completion, held.deadline_at + timedelta(seconds=NOOP_S))


@pytest.mark.parametrize("core_settings", [{"worker_concurrency": 2}])
def test_tasks_queued_behind_two_slots_take_whichever_frees_first(ec: EstimateCore) -> None:
    one, two = ec.hold(), ec.hold()
    assert one.started_at is not None and two.started_at is not None
    assert timedelta(0) <= two.started_at - one.started_at < timedelta(seconds=NOOP_S)
    ends = [one.started_at + timedelta(seconds=CHECK_S), two.started_at + timedelta(seconds=CHECK_S)]
    views = ec.read(ec.queue(3))
    assert [v.queue_position for v in views] == [1, 2, 3]
    noop = timedelta(seconds=NOOP_S)
    expected = [ends[0] + noop, ends[1] + noop, ends[0] + 2 * noop]  # the third follows the first in its slot
    assert all(close_to(v.estimated_completion, e) for v, e in zip(views, expected, strict=True)), \
        [(v.estimated_completion, e) for v, e in zip(views, expected, strict=True)]


def test_a_higher_priority_moves_ahead_at_once_and_pushes_the_estimate_out(ec: EstimateCore) -> None:
    held = ec.hold()
    assert held.started_at is not None
    end = held.started_at + timedelta(seconds=CHECK_S)
    [normal] = ec.queue(1)
    alone = ec.tasks.get(normal)
    assert alone.queue_position == 1 and close_to(alone.estimated_completion, end + timedelta(seconds=NOOP_S))
    [critical] = ec.queue(1, priority="critical")
    now_normal, now_critical = ec.read([normal, critical])
    assert now_critical.queue_position == 1 and now_normal.queue_position == 2
    assert close_to(now_critical.estimated_completion, end + timedelta(seconds=NOOP_S))
    assert close_to(now_normal.estimated_completion, end + timedelta(seconds=2 * NOOP_S))


def test_each_live_executor_adds_the_slots_it_reported(ec: EstimateCore) -> None:
    held = ec.hold()
    assert held.started_at is not None
    first, second = ec.queue(2)
    with ec.core.runtime.db.transaction() as s:  # another executor, idle, that runs three at once
        records.heartbeat(s, "executor-elsewhere", hostname="elsewhere", pid=1, role="worker",
                          labels={"labels": [], "concurrency": 3}, status="idle", current_job_id=None)
    before = utcnow()
    views = ec.read([first, second])
    # 1 slot here (held) + 3 there (free): both start at once, on the other executor's slots
    assert all(v.estimated_completion is not None for v in views)
    assert all(before + timedelta(seconds=NOOP_S) - TOLERANCE <= v.estimated_completion  # type: ignore[operator]
               <= utcnow() + timedelta(seconds=NOOP_S) + TOLERANCE for v in views)
