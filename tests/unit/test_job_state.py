"""When a running attempt of a job must stop, from the job's state alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from montage.domain.jobs import JobState, JobStatus

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("state", "attempt_of", "expected"), [
    (JobState(JobStatus.RUNNING, "w1", NOW + timedelta(seconds=1)), "w1", None),
    (JobState(JobStatus.RUNNING, "w1", None), None, None),
    (JobState(JobStatus.RUNNING, "w2", None), "w1", "canceled"),  # retried into another run
    (JobState(JobStatus.QUEUED, "w2", None), "w1", "canceled"),
    (JobState(JobStatus.CANCELED, "w1", None), "w1", "canceled"),
    (JobState(JobStatus.FAILED, "w1", None), "w1", "ended"),
    (JobState(JobStatus.SUCCEEDED, "w1", None), None, "ended"),
    (JobState(JobStatus.RUNNING, "w1", NOW - timedelta(seconds=1)), "w1", "timeout"),
    (JobState(JobStatus.WAITING_APPROVAL, "w1", NOW - timedelta(seconds=1)), None, "timeout"),
])
def test_interruption(state: JobState, attempt_of: str | None, expected: str | None) -> None:
    assert state.interruption(NOW, attempt_of) == expected
