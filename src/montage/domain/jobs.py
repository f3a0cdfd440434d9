"""Jobs, their stages and the one function through which every status changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from montage.errors import IllegalTransition, ValidationFailed


class JobStatus(StrEnum):
    CREATED = "CREATED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    WAITING_APPROVAL = "WAITING_APPROVAL"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED})

#: The legal moves. Anything else is an :class:`IllegalTransition`.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.CREATED: frozenset({JobStatus.QUEUED, JobStatus.CANCELED}),
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELED, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.WAITING_APPROVAL, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED}
    ),
    JobStatus.WAITING_APPROVAL: frozenset({JobStatus.RUNNING, JobStatus.FAILED, JobStatus.CANCELED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED, JobStatus.CREATED}),
    JobStatus.CANCELED: frozenset({JobStatus.QUEUED, JobStatus.CREATED}),
}


def check_transition(current: JobStatus, target: JobStatus) -> JobStatus:
    """Return ``target`` if moving there from ``current`` is legal, else raise."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(
            f"cannot move a job from {current} to {target}",
            current=current.value,
            target=target.value,
            allowed=sorted(s.value for s in TRANSITIONS[current]),
        )
    return target


def sources_of(target: JobStatus) -> frozenset[JobStatus]:
    """Every status from which ``target`` may be reached (for guarded updates)."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


class StageStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    WAITING_APPROVAL = "WAITING_APPROVAL"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class Priority(StrEnum):
    """Four levels; higher runs first, first in first out within one level."""

    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """DBOS queue priority: smaller runs first."""
        return _RANK[self]

    @classmethod
    def parse(cls, value: str | int | None) -> Priority:
        if value is None:
            return cls.NORMAL
        if isinstance(value, int) and not isinstance(value, bool):
            for prio, rank in _RANK.items():
                if rank == value:
                    return prio
        elif isinstance(value, str) and value.lower() in cls._value2member_map_:
            return cls(value.lower())
        raise ValidationFailed(
            f"priority must be one of: {', '.join(p.value for p in cls)}",
            field="priority",
            received=value,
            allowed=[p.value for p in cls],
        )


_RANK = {Priority.CRITICAL: 1, Priority.HIGH: 2, Priority.NORMAL: 3, Priority.LOW: 4}


@dataclass(frozen=True)
class JobError:
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StageRun:
    """One stage of one job: where it stands and what it produced."""

    name: str
    position: int
    generator: str
    status: StageStatus
    approval: bool
    max_attempts: int = 3
    backoff_s: float = 0.5
    attempts: int = 0
    revision: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)
    error: JobError | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def done(self) -> bool:
        """Finished and, where a gate applies, approved."""
        return self.status == StageStatus.SUCCEEDED


@dataclass(frozen=True)
class Artifact:
    job_id: str
    stage: str
    role: str
    path: str
    mime: str
    bytes: int
    sha256: str
    created_at: datetime


@dataclass(frozen=True)
class Approval:
    id: int
    job_id: str
    stage: str
    decision: str  # APPROVED | REJECTED
    reason: str | None
    comment: str | None
    created_at: datetime


@dataclass(frozen=True)
class JobEvent:
    """An append-only record; ``id`` grows, so a stream can resume after it."""

    id: int
    job_id: str
    kind: str  # status | stage | progress | log | asset | approval | done | failed | canceled
    stage: str | None
    status: str | None
    progress: float | None
    message: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Job:
    id: str
    pipeline: str
    pipeline_version: str
    input: dict[str, Any]
    options: dict[str, Any]
    status: JobStatus
    current_stage: str | None
    progress: float
    message: str
    priority: Priority
    queue: str
    attempts: int
    timeout_s: float
    schedule_for: datetime | None
    idempotency_key: str | None
    workflow_id: str | None
    facade: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    deadline_at: datetime | None
    error: JobError | None
    worker_id: str | None = None
    owner: str | None = None
    key_id: str | None = None
    stages: tuple[StageRun, ...] = ()

    def stage(self, name: str) -> StageRun | None:
        return next((s for s in self.stages if s.name == name), None)


@dataclass(frozen=True)
class JobState:
    """The part of a job that says whether a running attempt of it must stop."""

    status: JobStatus
    workflow_id: str | None
    deadline_at: datetime | None

    def interruption(self, now: datetime, workflow_id: str | None = None) -> str | None:
        """"canceled", "timeout" or "ended" if an attempt of run ``workflow_id`` (any run: None)
        must stop at ``now``, else None; another run owning the job counts as canceled."""
        if workflow_id is not None and self.workflow_id != workflow_id:
            return "canceled"
        if self.status == JobStatus.CANCELED:
            return "canceled"
        if self.status.terminal:
            return "ended"
        if self.deadline_at is not None and now > self.deadline_at:
            return "timeout"
        return None
