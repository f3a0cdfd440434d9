"""The order of a queue, as the jobs table sees it: who is ahead of a queued job.

A queue hands out higher priorities first and, within one priority, the job queued first
(DBOS dequeues by priority, then by the time the workflow was enqueued). A queued job's
``updated_at`` is the moment it was queued (created, started or retried): nothing else
writes a job while it is QUEUED. The job id breaks ties.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session

from montage.domain.estimates import Occupant
from montage.domain.jobs import Job, JobStatus, Priority
from montage.store.models import JobRow


@functools.cache
def _ahead_by_pipeline(priority: Priority) -> Select[str, int]:
    """Per pipeline, how many queued jobs of a queue start before a job of ``priority``: due
    now, and of a higher priority, or of the same one and queued earlier. Built once per
    priority (a statement built per call cost more than the query), bound with ``queue``,
    ``job_id``, ``updated_at`` and ``now``."""
    higher = [p.value for p in Priority if p.rank < priority.rank]
    updated_at = bindparam("updated_at", type_=JobRow.updated_at.type)
    job_id = bindparam("job_id", type_=JobRow.id.type)
    now = bindparam("now", type_=JobRow.schedule_for.type)
    earlier = or_(JobRow.updated_at < updated_at, and_(JobRow.updated_at == updated_at, JobRow.id < job_id))
    return (select(JobRow.pipeline, func.count())
            .where(JobRow.status == JobStatus.QUEUED.value, JobRow.queue == bindparam("queue"), JobRow.id != job_id,
                   or_(JobRow.schedule_for.is_(None), JobRow.schedule_for <= now),
                   or_(JobRow.priority.in_(higher), and_(JobRow.priority == priority.value, earlier)))
            .group_by(JobRow.pipeline))


def ahead_by_pipeline(s: Session, job: Job, now: datetime) -> dict[str, int]:
    """How many jobs are ahead of ``job`` in its queue, by pipeline."""
    rows = s.execute(_ahead_by_pipeline(job.priority),
                     {"queue": job.queue, "job_id": job.id, "updated_at": job.updated_at, "now": now}).all()
    return {r[0]: int(r[1]) for r in rows}


def workflows_ahead(s: Session, job: Job, now: datetime, limit: int = 200) -> list[tuple[str, str]]:
    """(job id, workflow id) of the jobs ahead of ``job``, in queue order (of each priority,
    the nearest ``limit``).

    One statement, a range of ``ix_jobs_queue_order`` per priority level: a start reads only
    the few jobs ahead of it, however long the queue behind it."""
    queued = select(JobRow.id, JobRow.workflow_id, JobRow.priority, JobRow.updated_at).where(
        JobRow.queue == job.queue, JobRow.status == JobStatus.QUEUED.value, JobRow.workflow_id.is_not(None),
        JobRow.id != job.id, or_(JobRow.schedule_for.is_(None), JobRow.schedule_for <= now))
    same = queued.where(JobRow.priority == job.priority.value, JobRow.updated_at <= job.updated_at,
                        or_(JobRow.updated_at < job.updated_at, JobRow.id < job.id))
    levels = [same] + [queued.where(JobRow.priority == p.value) for p in Priority if p.rank < job.priority.rank]
    nearest = [select(level.order_by(JobRow.updated_at.desc()).limit(limit).subquery()) for level in levels]
    rows = list(s.execute(union_all(*nearest)).all())
    rows.sort(key=lambda r: (Priority(r.priority).rank, r.updated_at, r.id))
    return [(r.id, str(r.workflow_id)) for r in rows]


def still_queued(s: Session, job_ids: Collection[str]) -> set[str]:
    """Those of ``job_ids`` whose job is still QUEUED (not started, not canceled)."""
    if not job_ids:
        return set()
    rows = s.execute(select(JobRow.id).where(JobRow.id.in_(list(job_ids)), JobRow.status == JobStatus.QUEUED.value))
    return {r[0] for r in rows}


_OCCUPANTS = (select(JobRow.pipeline, JobRow.status, JobRow.started_at, JobRow.progress, JobRow.deadline_at)
              .where(JobRow.queue == bindparam("queue"),
                     JobRow.status.in_([JobStatus.RUNNING.value, JobStatus.WAITING_APPROVAL.value])))


def occupants(s: Session, queue: str) -> list[Occupant]:
    """The jobs holding a slot of ``queue``: running, or waiting at an approval gate."""
    rows = s.execute(_OCCUPANTS, {"queue": queue}).all()
    return [Occupant(pipeline=r.pipeline, started_at=r.started_at, progress=float(r.progress or 0.0),
                     deadline_at=r.deadline_at, at_gate=r.status == JobStatus.WAITING_APPROVAL.value) for r in rows]
