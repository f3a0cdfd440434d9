"""What the task-manager facade reports beyond a job: workers, counts, estimates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from montage.domain.jobs import Job


@dataclass(frozen=True)
class WorkerState:
    """An executor as its last heartbeat left it."""

    id: str
    hostname: str
    pid: int
    role: str
    status: str  # busy | idle
    current_job_id: str | None
    started_at: datetime
    last_heartbeat: datetime
    labels: tuple[str, ...] = ()
    concurrency: int | None = None  # jobs it runs at once per queue, as it reported (None: not said)


@dataclass(frozen=True)
class WorkerFigures:
    """What one executor has done: jobs ended by outcome and their mean run time."""

    succeeded: int = 0
    failed: int = 0
    canceled: int = 0
    mean_duration_s: float | None = None

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed + self.canceled


@dataclass(frozen=True)
class TaskView:
    """A task with what is true of it at the moment it is read."""

    job: Job
    queue_position: int
    estimated_completion: datetime | None


@dataclass(frozen=True)
class TaskCounts:
    """Tasks by core status and by pipeline, and the mean run time of those that succeeded."""

    by_status: dict[str, int] = field(default_factory=dict)
    by_pipeline: dict[str, int] = field(default_factory=dict)
    mean_duration_s: float | None = None

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class DurationHistogram:
    """Cumulative counts of run times at or under each bound, their sum and count."""

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]
    total_s: float
    count: int
