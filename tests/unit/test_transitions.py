"""The transition table on its own."""

from __future__ import annotations

import itertools

import pytest

from montage.domain.jobs import TERMINAL, TRANSITIONS, JobStatus, Priority, check_transition, sources_of
from montage.errors import IllegalTransition, ValidationFailed

LEGAL = {
    ("CREATED", "QUEUED"), ("CREATED", "CANCELED"),
    ("QUEUED", "RUNNING"), ("QUEUED", "CANCELED"), ("QUEUED", "FAILED"),
    ("RUNNING", "WAITING_APPROVAL"), ("RUNNING", "SUCCEEDED"), ("RUNNING", "FAILED"), ("RUNNING", "CANCELED"),
    ("WAITING_APPROVAL", "RUNNING"), ("WAITING_APPROVAL", "FAILED"), ("WAITING_APPROVAL", "CANCELED"),
    ("FAILED", "QUEUED"), ("CANCELED", "QUEUED"), ("FAILED", "CREATED"), ("CANCELED", "CREATED"),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(JobStatus, JobStatus)))
def test_every_pair_is_legal_exactly_when_listed(current: JobStatus, target: JobStatus) -> None:
    if (current.value, target.value) in LEGAL:
        assert check_transition(current, target) is target
    else:
        with pytest.raises(IllegalTransition) as info:
            check_transition(current, target)
        assert info.value.details["current"] == current.value
        assert info.value.code == "ILLEGAL_TRANSITION"


def test_succeeded_is_final_and_failed_or_canceled_only_retry() -> None:
    assert TRANSITIONS[JobStatus.SUCCEEDED] == frozenset()
    assert TRANSITIONS[JobStatus.FAILED] == TRANSITIONS[JobStatus.CANCELED] == {JobStatus.QUEUED, JobStatus.CREATED}
    assert {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED} == TERMINAL


def test_sources_of_inverts_the_table() -> None:
    assert sources_of(JobStatus.RUNNING) == {JobStatus.QUEUED, JobStatus.WAITING_APPROVAL}
    assert sources_of(JobStatus.QUEUED) == {JobStatus.CREATED, JobStatus.FAILED, JobStatus.CANCELED}
    assert sources_of(JobStatus.CREATED) == {JobStatus.FAILED, JobStatus.CANCELED}


def test_priorities_rank_critical_first_and_parse_names_and_numbers() -> None:
    ranks = [p.rank for p in (Priority.CRITICAL, Priority.HIGH, Priority.NORMAL, Priority.LOW)]
    assert ranks == sorted(ranks) and len(set(ranks)) == 4
    assert Priority.parse("HIGH") is Priority.HIGH and Priority.parse(None) is Priority.NORMAL
    assert Priority.parse(1) is Priority.CRITICAL
    with pytest.raises(ValidationFailed) as info:
        Priority.parse("urgent")
    assert info.value.details["allowed"] == ["critical", "high", "normal", "low"]
