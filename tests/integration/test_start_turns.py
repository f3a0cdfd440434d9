"""``StartTurns``: a job's first stage waits for the jobs claimed ahead of it, on SQLite and
PostgreSQL. Jobs are queued in the table only (no executor runs them) and which of them an
executor has claimed is given by the test, so the other executor's part is played by hand.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from montage.domain.jobs import Job, JobStatus
from montage.engine.start_order import StartTurns
from montage.services.jobs import JobService, SubmitJob
from montage.services.runtime import Runtime
from montage.store import jobs as jobs_repo
from montage.store.db import Database
from montage.store.jobs import utcnow
from tests.integration.conftest import make_settings
from tests.support.databases import fresh_database


class TableOnly:
    """A dispatcher that queues nothing: the jobs stay QUEUED in the table."""

    def enqueue(self, job: Job) -> None:
        pass

    def cancel(self, workflow_id: str) -> None:
        pass

    def wake(self, workflow_id: str) -> None:
        pass


@pytest.fixture
def runtime(backend: str, tmp_path: Path) -> Iterator[Runtime]:
    with fresh_database(backend, tmp_path) as url:
        runtime = Runtime.open(make_settings(tmp_path, url))
        try:
            yield runtime
        finally:
            runtime.close()


def queued(runtime: Runtime, *priorities: str) -> list[Job]:
    jobs = JobService(runtime, TableOnly())
    return [jobs.submit(SubmitJob(pipeline="noop", input={}, priority=p))[0] for p in priorities]


class Claims:
    """The test's answer to 'which of these workflows has an executor claimed?'."""

    def __init__(self, claimed: set[str]) -> None:
        self.claimed = claimed
        self.asked = threading.Event()

    def __call__(self, workflow_ids: Collection[str]) -> set[str]:
        self.asked.set()
        return self.claimed & set(workflow_ids)


def test_a_job_waits_until_the_one_claimed_ahead_starts_on_another_executor(runtime: Runtime) -> None:
    first, second = queued(runtime, "normal", "normal")
    claims = Claims({first.id})
    turns = StartTurns(runtime, claimed=claims, max_wait_s=60.0)
    result: list[list[str]] = []
    waiter = threading.Thread(target=lambda: result.append(turns.wait_turn(second.id)))
    waiter.start()
    assert claims.asked.wait(10)
    assert waiter.is_alive()  # the first is claimed and still queued: the second may not start
    other = Database(runtime.settings.app_database_url)  # another executor's connection: no wake-up here
    try:
        with other.transaction() as s:
            jobs_repo.transition(s, first.id, JobStatus.RUNNING, worker_id="elsewhere", started_at=utcnow())
    finally:
        other.dispose()
    waiter.join(10)
    assert not waiter.is_alive() and result == [[]]


def test_jobs_ahead_that_nobody_claimed_or_behind_are_not_waited_for(runtime: Runtime) -> None:
    low, critical, normal = queued(runtime, "low", "critical", "normal")
    turns = StartTurns(runtime, claimed=Claims({low.id, critical.id, normal.id}), max_wait_s=60.0)
    assert turns.wait_turn(critical.id) == []  # nothing ahead of the highest priority
    assert StartTurns(runtime, claimed=Claims(set()), max_wait_s=60.0).wait_turn(low.id) == []


def test_a_claim_that_never_starts_holds_the_job_behind_it_only_so_long(runtime: Runtime) -> None:
    first, second = queued(runtime, "high", "high")
    turns = StartTurns(runtime, claimed=Claims({first.id}), max_wait_s=0.2)
    assert turns.wait_turn(second.id) == [first.id]
    assert turns.wait_turn(first.id) == []
