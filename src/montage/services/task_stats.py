"""Figures of the task-manager facade: queue positions, completion estimates, task and system
statistics, queue sizes and what ``/metrics`` exports. Every figure is read from the tables at
the moment it is asked for; only the mean run times and the executor count behind estimates
are kept for a few seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from montage.domain.estimates import Occupant, queued_wait_s, remaining_s
from montage.domain.jobs import Job, JobStatus
from montage.domain.pipelines import queue_label
from montage.domain.tasks import DurationHistogram, TaskCounts, TaskView, WorkerFigures, WorkerState
from montage.services.runtime import Runtime
from montage.store import queue_order
from montage.store import tasks as tasks_repo
from montage.store.jobs import utcnow

#: Run time assumed for a task type nothing has been measured for yet.
DEFAULT_DURATION_S = 5.0
_CACHE_S = 2.0
#: Statuses of an executor that starts no new job, whatever its heartbeat says.
_NOT_TAKING_WORK = {"draining", "stopped", "taken_over"}
_WAITING = (JobStatus.QUEUED, JobStatus.CREATED)
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
        self._executors: list[WorkerState] = []

    # -- a task at this moment ------------------------------------------------------------
    def view(self, job: Job) -> TaskView:
        return self.views([job])[0]

    def views(self, jobs: Sequence[Job]) -> list[TaskView]:
        """Each task with its place in line and its estimated completion, as of now."""
        now = utcnow()
        queues: dict[str, list[Occupant]] = {}
        views = []
        for job in jobs:
            if job.status not in _WAITING:
                views.append(TaskView(job=job, queue_position=0, estimated_completion=self._estimate(job, now)))
                continue
            with self.db.read() as s:
                ahead = queue_order.ahead_by_pipeline(s, job, now)
                if job.queue not in queues:
                    queues[job.queue] = queue_order.occupants(s, job.queue)
            views.append(TaskView(job=job, queue_position=1 + sum(ahead.values()),
                                  estimated_completion=self._queued_estimate(job, ahead, queues[job.queue], now)))
        return views

    def _estimate(self, job: Job, now: datetime) -> datetime | None:
        """When a task that is not waiting in line ends (or ended)."""
        if job.status == JobStatus.SUCCEEDED:
            return job.ended_at
        if job.status.terminal:
            return None
        mean = self._figures()[0].get(job.pipeline, DEFAULT_DURATION_S)
        running = Occupant(job.pipeline, job.started_at, job.progress, job.deadline_at)
        return now + timedelta(seconds=remaining_s(running, mean, now))

    def _queued_estimate(self, job: Job, ahead: dict[str, int], held: list[Occupant], now: datetime
                         ) -> datetime | None:
        """A queued task starts once the jobs running in its queue's slots and those ahead of it
        have made room (``domain.estimates``), not before its ``schedule_for``, and then takes
        its type's measured mean. None while every slot is held at an approval gate."""
        means, executors = self._figures()

        def run_time(pipeline: str) -> float:
            return means.get(pipeline, DEFAULT_DURATION_S)

        wait = queued_wait_s(held, self._slots(job.queue, executors), ahead, run_time, now)
        if wait is None:
            return None
        start = now + timedelta(seconds=wait)
        if job.schedule_for is not None and job.schedule_for > start:
            start = job.schedule_for
        return start + timedelta(seconds=run_time(job.pipeline))

    def _slots(self, queue: str, executors: list[WorkerState]) -> int:
        """How many jobs of ``queue`` run at once: the concurrency each live executor taking
        work from it reported (this process's setting for one that did not say), all together
        at most the queue's global concurrency; at least one."""
        label = queue_label(queue)
        slots = sum(w.concurrency or self.settings.worker_concurrency for w in executors
                    if label is None or label in w.labels)
        limit = self.settings.queue_concurrency.get(queue)
        return max(1, min(slots, limit) if limit else slots)

    def _figures(self) -> tuple[dict[str, float], list[WorkerState]]:
        """Mean run time per pipeline and the executors taking work now."""
        with self._lock:
            if time.monotonic() - self._cached_at < _CACHE_S:
                return self._means, self._executors
        with self.db.read() as s:
            means = tasks_repo.recent_mean_durations(s)
            workers = tasks_repo.workers(s)
        now = utcnow()
        executors = [w for w in workers if self._active(w, now) and w.status not in _NOT_TAKING_WORK]
        with self._lock:
            self._means, self._executors = means, executors
            self._cached_at = time.monotonic()
            return self._means, self._executors

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
