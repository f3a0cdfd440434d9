"""Queries of the task-manager facade over the jobs table: filters, sorting, positions, figures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from montage.domain.jobs import Job, JobStatus, Priority
from montage.domain.tasks import DurationHistogram, TaskCounts, WorkerFigures, WorkerState
from montage.store.jobs import job_from_row, owned
from montage.store.models import JobRow, StageRow, WorkerRow

FACADE = "tasks"


def kb_id_of() -> ColumnElement[Any]:
    return JobRow.input["kb_id"].as_string()


def rank_of() -> ColumnElement[Any]:
    return case({p.value: p.rank for p in Priority}, value=JobRow.priority, else_=99)


#: Sort keys a client may ask for, and the column each sorts by.
SORTABLE: dict[str, Any] = {
    "created_at": lambda: JobRow.created_at, "updated_at": lambda: JobRow.updated_at,
    "started_at": lambda: JobRow.started_at, "completed_at": lambda: JobRow.ended_at,
    "progress": lambda: JobRow.progress, "status": lambda: JobRow.status, "task_type": lambda: JobRow.pipeline,
    "priority": rank_of,
}


def duration_of(s: Session) -> ColumnElement[Any]:
    """Seconds from start to end of a job, in the database's own arithmetic."""
    if s.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", JobRow.ended_at - JobRow.started_at)
    return (func.julianday(JobRow.ended_at) - func.julianday(JobRow.started_at)) * 86400.0


def _filtered(query: Any, *, kb_id: str | None = None, statuses: Sequence[str] = (),
              pipelines: Sequence[str] = (), priorities: Sequence[str] = (), facade: str | None = FACADE) -> Any:
    query = owned(query)
    if facade:
        query = query.where(JobRow.facade == facade)
    if kb_id:
        query = query.where(kb_id_of() == kb_id)
    for column, values in ((JobRow.status, statuses), (JobRow.pipeline, pipelines), (JobRow.priority, priorities)):
        if values:
            query = query.where(column.in_(list(values)))
    return query


def list_tasks(s: Session, *, sort_by: str = "created_at", descending: bool = True, limit: int = 20,
               offset: int = 0, **filters: Any) -> tuple[list[Job], int]:
    """A page of tasks (with their stages) and how many match the filters."""
    query = _filtered(select(JobRow), **filters)
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    column = SORTABLE[sort_by]()
    order = column.desc() if descending else column.asc()
    rows = s.scalars(query.order_by(order.nulls_last(), JobRow.id).limit(limit).offset(offset)).all()
    stages: dict[str, list[StageRow]] = defaultdict(list)
    if rows:
        for stage in s.scalars(select(StageRow).where(StageRow.job_id.in_([r.id for r in rows]))):
            stages[stage.job_id].append(stage)
    return [job_from_row(r, stages[r.id]) for r in rows], total


def task_counts(s: Session, kb_id: str | None = None) -> TaskCounts:
    rows = s.execute(_filtered(select(JobRow.status, JobRow.pipeline, func.count()), kb_id=kb_id)
                     .group_by(JobRow.status, JobRow.pipeline)).all()
    by_status: dict[str, int] = defaultdict(int)
    by_pipeline: dict[str, int] = defaultdict(int)
    for status, pipeline, n in rows:
        by_status[status] += int(n)
        by_pipeline[pipeline] += int(n)
    mean = s.scalar(_filtered(select(func.avg(duration_of(s))), kb_id=kb_id, statuses=[JobStatus.SUCCEEDED.value])
                    .where(JobRow.started_at.is_not(None)))
    return TaskCounts(dict(by_status), dict(by_pipeline), float(mean) if mean is not None else None)


def recent_mean_durations(s: Session, limit: int = 500) -> dict[str, float]:
    """Mean run time per pipeline over the most recent succeeded jobs, of every facade: tasks
    share their queue with other jobs, whose run times delay them too."""
    recent = (select(JobRow.pipeline, duration_of(s).label("d"))
              .where(JobRow.status == JobStatus.SUCCEEDED.value,
                     JobRow.started_at.is_not(None))
              .order_by(JobRow.created_at.desc()).limit(limit).subquery())
    rows = s.execute(select(recent.c.pipeline, func.avg(recent.c.d)).group_by(recent.c.pipeline)).all()
    return {r[0]: float(r[1]) for r in rows if r[1] is not None}


def workers(s: Session) -> list[WorkerState]:
    return [WorkerState(id=r.id, hostname=r.hostname, pid=r.pid, role=r.role, status=r.status,
                        current_job_id=r.current_job_id, started_at=r.started_at, last_heartbeat=r.last_heartbeat,
                        labels=tuple((r.labels or {}).get("labels") or ()),
                        concurrency=(r.labels or {}).get("concurrency"))
            for r in s.scalars(select(WorkerRow).order_by(WorkerRow.id))]


def worker_figures(s: Session) -> dict[str, WorkerFigures]:
    """Ended jobs per executor by outcome (every facade's: an executor runs them all)."""
    ended = [JobStatus.SUCCEEDED.value, JobStatus.FAILED.value, JobStatus.CANCELED.value]
    rows = s.execute(select(JobRow.worker_id, JobRow.status, func.count(),
                            func.avg(case((JobRow.status == JobStatus.SUCCEEDED.value, duration_of(s)))))
                     .where(JobRow.worker_id.is_not(None), JobRow.status.in_(ended), JobRow.started_at.is_not(None))
                     .group_by(JobRow.worker_id, JobRow.status)).all()
    counts: dict[str, dict[str, Any]] = defaultdict(dict)
    for worker_id, status, n, mean in rows:
        counts[worker_id][status] = int(n)
        if status == JobStatus.SUCCEEDED.value:
            counts[worker_id]["mean"] = float(mean) if mean is not None else None
    return {w: WorkerFigures(succeeded=c.get("SUCCEEDED", 0), failed=c.get("FAILED", 0),
                             canceled=c.get("CANCELED", 0), mean_duration_s=c.get("mean")) for w, c in counts.items()}


def ended_since(s: Session, since: datetime) -> int:
    """Jobs of every facade that ended at or after ``since``."""
    ended = [JobStatus.SUCCEEDED.value, JobStatus.FAILED.value, JobStatus.CANCELED.value]
    return int(s.scalar(select(func.count()).select_from(JobRow)
                        .where(JobRow.status.in_(ended), JobRow.ended_at >= since)) or 0)


def queued(s: Session, *, facade: str | None = None, pipeline: str | None = None,
           priority: str | None = None) -> dict[str, int]:
    """Queued jobs by priority (optionally of one facade, pipeline or priority)."""
    query = _filtered(select(JobRow.priority, func.count()), statuses=[JobStatus.QUEUED.value],
                      pipelines=[pipeline] if pipeline else [], priorities=[priority] if priority else [],
                      facade=facade)
    return {r[0]: int(r[1]) for r in s.execute(query.group_by(JobRow.priority)).all()}


def duration_histograms(s: Session, bounds: Sequence[float]) -> dict[str, DurationHistogram]:
    """Per pipeline of the facade's ended tasks: a cumulative histogram of run times."""
    duration = duration_of(s)
    columns = [func.sum(case((duration <= b, 1), else_=0)) for b in bounds]
    ended = [JobStatus.SUCCEEDED.value, JobStatus.FAILED.value, JobStatus.CANCELED.value]
    rows = s.execute(select(JobRow.pipeline, func.count(), func.sum(duration), *columns)
                     .where(JobRow.facade == FACADE, JobRow.status.in_(ended), JobRow.started_at.is_not(None),
                            JobRow.ended_at.is_not(None))
                     .group_by(JobRow.pipeline)).all()
    return {r[0]: DurationHistogram(tuple(bounds), tuple(int(v or 0) for v in r[3:]), float(r[2] or 0.0), int(r[1]))
            for r in rows}


def statuses_of(s: Session, ids: Sequence[str]) -> dict[str, str]:
    """Core status of each job id that exists."""
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        part = list(ids[start:start + 500])
        found.update({r[0]: r[1] for r in s.execute(select(JobRow.id, JobRow.status).where(JobRow.id.in_(part)))})
    return found


def task_counts_by_pipeline_status(s: Session) -> dict[tuple[str, str], int]:
    rows = s.execute(_filtered(select(JobRow.pipeline, JobRow.status, func.count()))
                     .group_by(JobRow.pipeline, JobRow.status)).all()
    return {(r[0], r[1]): int(r[2]) for r in rows}
