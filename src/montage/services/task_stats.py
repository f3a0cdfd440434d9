"""Figures of the task-manager facade: queue positions, completion estimates, task and system
statistics, queue sizes and what ``/metrics`` exports. Every figure is read from the tables at
the moment it is asked for; only the mean run times and the worker count behind estimates
are kept for a few seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from montage.domain.jobs import Job, JobStatus
from montage.domain.tasks import DurationHistogram, TaskCounts, TaskView, WorkerFigures, WorkerState
from montage.services.runtime import Runtime
from montage.store import queue_order
from montage.store import tasks as tasks_repo
from montage.store.jobs import utcnow

#: Run time assumed for a task type nothing has been measured for yet.
DEFAULT_DURATION_S = 5.0
_CACHE_S = 2.0
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


@dataclass(frozen=True)
class WorkerReport:
    state: WorkerState
    figures: WorkerFigures
    active: bool


@dataclass(frozen=True)
class SystemFigures:
    workers: list[WorkerReport]
    queue_size: int
    processing_rate: float  # jobs ended per second over the last minute


@dataclass(frozen=True)
class MetricsSnapshot:
    tasks: dict[tuple[str, str], int]  # (pipeline, core status) → count
    queued_by_priority: dict[str, int]
    durations: dict[str, DurationHistogram]


class TaskStats:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.settings = runtime.settings
        self._lock = threading.Lock()
        self._cached_at = -1e9
        self._means: dict[str, float] = {}
        self._capacity = 1

    # -- a task at this moment ------------------------------------------------------------
    def view(self, job: Job) -> TaskView:
        now = utcnow()
        ahead: dict[str, int] = {}
        if job.status in (JobStatus.QUEUED, JobStatus.CREATED):
            with self.db.read() as s:
                ahead = queue_order.ahead_by_pipeline(s, job, now)
        position = 1 + sum(ahead.values()) if job.status in (JobStatus.QUEUED, JobStatus.CREATED) else 0
        return TaskView(job=job, queue_position=position, estimated_completion=self._estimate(job, ahead, now))

    def views(self, jobs: Sequence[Job]) -> list[TaskView]:
        return [self.view(j) for j in jobs]

    def _estimate(self, job: Job, ahead: dict[str, int], now: datetime) -> datetime | None:
        if job.status == JobStatus.SUCCEEDED:
            return job.ended_at
        if job.status.terminal:
            return None
        means, capacity = self._figures()
        own = means.get(job.pipeline, DEFAULT_DURATION_S)
        if job.status in (JobStatus.QUEUED, JobStatus.CREATED):
            waiting = sum(n * means.get(p, DEFAULT_DURATION_S) for p, n in ahead.items()) / capacity
            start = max(now, job.schedule_for) if job.schedule_for else now
            return start + timedelta(seconds=waiting + own)
        elapsed = (now - (job.started_at or now)).total_seconds()
        # from the progress made so far once there is some, else from the measured mean
        remaining = (elapsed * (100.0 - job.progress) / job.progress if job.progress >= 1.0
                     else max(0.0, own - elapsed))
        return now + timedelta(seconds=remaining)

    def _figures(self) -> tuple[dict[str, float], int]:
        """Mean run time per pipeline and how many tasks run at once (live workers × concurrency)."""
        with self._lock:
            if time.monotonic() - self._cached_at < _CACHE_S:
                return self._means, self._capacity
        with self.db.read() as s:
            means = tasks_repo.recent_mean_durations(s)
            workers = tasks_repo.workers(s)
        live = sum(1 for w in workers if self._active(w, utcnow()))
        with self._lock:
            self._means, self._capacity = means, max(1, live * self.settings.worker_concurrency)
            self._cached_at = time.monotonic()
            return self._means, self._capacity

    def _active(self, worker: WorkerState, now: datetime) -> bool:
        window = max(15.0, 3 * self.settings.heartbeat_interval_s)
        return (now - worker.last_heartbeat).total_seconds() <= window

    # -- statistics ------------------------------------------------------------------------
    def task_counts(self, kb_id: str | None = None) -> TaskCounts:
        with self.db.read() as s:
            return tasks_repo.task_counts(s, kb_id)

    def system(self) -> SystemFigures:
        now = utcnow()
        with self.db.read() as s:
            workers = tasks_repo.workers(s)
            figures = tasks_repo.worker_figures(s)
            queued = sum(tasks_repo.queued(s).values())
            ended = tasks_repo.ended_since(s, now - timedelta(seconds=60))
        reports = [WorkerReport(w, figures.get(w.id, WorkerFigures()), self._active(w, now)) for w in workers]
        return SystemFigures(workers=reports, queue_size=queued, processing_rate=round(ended / 60.0, 3))

    def queue_size(self, pipeline: str | None, priority: str | None) -> int:
        """Tasks waiting in the queue, of one type and priority when given."""
        with self.db.read() as s:
            return sum(tasks_repo.queued(s, facade=tasks_repo.FACADE, pipeline=pipeline,
                                         priority=priority).values())

    def metrics(self) -> MetricsSnapshot:
        with self.db.read() as s:
            counts = tasks_repo.task_counts_by_pipeline_status(s)
            queued = tasks_repo.queued(s)
            durations = tasks_repo.duration_histograms(s, DURATION_BUCKETS)
        return MetricsSnapshot(tasks=counts, queued_by_priority=queued, durations=durations)
