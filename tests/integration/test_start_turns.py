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
from montage.services.execution import ExecutionService, StageStart
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


ME = "this-executor"


class Claims:
    """The test's answer to 'which of these workflows has an executor claimed, and which?'."""

    def __init__(self, claimed: dict[str, str]) -> None:
        self.claimed = claimed
        self.asked = threading.Event()

    def __call__(self, workflow_ids: Collection[str]) -> dict[str, str]:
        self.asked.set()
        return {w: e for w, e in self.claimed.items() if w in workflow_ids}


def test_the_jobs_claimed_ahead_here_are_given_in_queue_order(runtime: Runtime) -> None:
    low, normal, critical, high, _unclaimed, last = queued(runtime, "low", "normal", "critical", "high", "high", "low")
    claims = Claims({j.id: ME for j in (normal, critical, high, low)})  # not the second high one: still in DBOS's queue
    turns = StartTurns(runtime.db, ME, claimed=claims, max_wait_s=60.0)
    assert turns.ahead_claimed(last.id) == [(j.id, j.id) for j in (critical, high, normal, low)]
    assert turns.ahead_claimed(critical.id) == []  # nothing is ahead of the highest priority


def test_a_job_waits_until_the_one_claimed_ahead_elsewhere_has_started(runtime: Runtime) -> None:
    first, second = queued(runtime, "normal", "normal")
    claims = Claims({first.id: "another-executor"})
    turns = StartTurns(runtime.db, ME, claimed=claims, max_wait_s=60.0)
    result: list[list[tuple[str, str]]] = []
    thread = threading.Thread(target=lambda: result.append(turns.ahead_claimed(second.id)))
    thread.start()
    assert claims.asked.wait(10)
    assert thread.is_alive()  # the first is claimed there and still queued: the second may not start
    other = Database(runtime.settings.app_database_url)  # the other executor's connection
    try:
        with other.transaction() as s:
            jobs_repo.transition(s, first.id, JobStatus.RUNNING, worker_id="another-executor", started_at=utcnow())
    finally:
        other.dispose()
    thread.join(10)
    assert not thread.is_alive() and result == [[]]


def test_a_claim_elsewhere_that_never_starts_holds_the_job_behind_it_only_so_long(runtime: Runtime) -> None:
    first, second = queued(runtime, "high", "high")
    turns = StartTurns(runtime.db, ME, claimed=Claims({first.id: "dead-executor"}), max_wait_s=0.2)
    assert turns.ahead_claimed(second.id) == []
    assert turns.wait_for_others({first.id}) == [first.id]


def test_a_job_that_already_started_takes_no_turn(runtime: Runtime) -> None:
    first, second = queued(runtime, "normal", "normal")
    with runtime.db.transaction() as s:
        jobs_repo.transition(s, second.id, JobStatus.RUNNING, worker_id=ME, started_at=utcnow())
    assert StartTurns(runtime.db, ME, claimed=Claims({first.id: ME}), max_wait_s=60.0).ahead_claimed(second.id) == []


def test_a_first_start_marks_the_jobs_claimed_ahead_started_before_it(runtime: Runtime) -> None:
    first, canceled, second, third = queued(runtime, "normal", "normal", "normal", "normal")
    JobService(runtime, TableOnly()).cancel(canceled.id)
    execution = ExecutionService(runtime)
    ahead = [(first.id, first.id), (canceled.id, canceled.id), (second.id, second.id)]
    started = execution.start_next_stage(third.id, ME, third.id, first=ahead)
    assert isinstance(started, StageStart) and started.job.id == third.id
    jobs = {j.id: j for j in (JobService(runtime, TableOnly()).get(i) for i in (first.id, second.id, third.id))}
    assert {j.status for j in jobs.values()} == {JobStatus.RUNNING}
    assert jobs[first.id].started_at < jobs[second.id].started_at < jobs[third.id].started_at  # type: ignore[operator]
    assert JobService(runtime, TableOnly()).get(canceled.id).status == JobStatus.CANCELED
    # the first one's own thread comes later: it finds its job started here and runs its stage
    own = execution.start_next_stage(first.id, ME, first.id)
    assert isinstance(own, StageStart) and own.job.status == JobStatus.RUNNING
