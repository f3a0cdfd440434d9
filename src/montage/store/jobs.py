"""Job and stage rows in, domain objects out."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from montage.domain import access
from montage.domain.jobs import (
    Job,
    JobError,
    JobState,
    JobStatus,
    Priority,
    StageRun,
    StageStatus,
    check_transition,
    sources_of,
)
from montage.domain.pipelines import StageSpec
from montage.errors import JobNotFound
from montage.store.models import JobRow, StageRow

_JOBS = cast(Table, JobRow.__table__)
_STAGES = cast(Table, StageRow.__table__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _error(code: str | None, message: str | None, details: dict[str, Any] | None) -> JobError | None:
    return JobError(code, message or "", details or {}) if code else None


def stage_from_row(row: StageRow) -> StageRun:
    return StageRun(
        name=row.name, position=row.position, generator=row.generator, status=StageStatus(row.status),
        approval=row.approval, max_attempts=row.max_attempts, backoff_s=row.backoff_s, attempts=row.attempts,
        revision=row.revision, outputs=row.outputs or {},
        error=_error(row.error_code, row.error_message, None), started_at=row.started_at,
        ended_at=row.ended_at,
    )


def job_from_row(row: JobRow, stages: Iterable[StageRow] = ()) -> Job:
    return Job(
        id=row.id, pipeline=row.pipeline, pipeline_version=row.pipeline_version, input=row.input,
        options=row.options, status=JobStatus(row.status), current_stage=row.current_stage,
        progress=row.progress, message=row.message, priority=Priority(row.priority), queue=row.queue,
        attempts=row.attempts, timeout_s=row.timeout_s, schedule_for=row.schedule_for,
        idempotency_key=row.idempotency_key, workflow_id=row.workflow_id, facade=row.facade,
        created_at=row.created_at, updated_at=row.updated_at, started_at=row.started_at,
        ended_at=row.ended_at, deadline_at=row.deadline_at,
        error=_error(row.error_code, row.error_message, row.error_details), worker_id=row.worker_id,
        owner=row.owner, key_id=row.key_id,
        stages=tuple(stage_from_row(s) for s in sorted(stages, key=lambda s: s.position)),
    )


def insert_job(session: Session, row: JobRow, stages: Sequence[StageSpec]) -> Job:
    stage_rows = [
        StageRow(
            job_id=row.id, name=spec.name, position=position, generator=spec.generator,
            params=dict(spec.params), approval=spec.approval, server=spec.server,
            max_attempts=spec.retry.max_attempts, backoff_s=spec.retry.backoff_s,
            status=StageStatus.PENDING.value, attempts=0, revision=0, outputs={},
        )
        for position, spec in enumerate(stages)
    ]
    # Core inserts of the values set: no unit-of-work flush (half of a submit's CPU went there).
    session.execute(insert(_JOBS), [_set_columns(row)])
    if stage_rows:
        session.execute(insert(_STAGES), [_set_columns(r) for r in stage_rows])
    return job_from_row(row, stage_rows)


def _set_columns(row: JobRow | StageRow) -> dict[str, Any]:
    """The column values given to a new row object (the rest take their column defaults)."""
    return {c.key: row.__dict__[c.key] for c in row.__table__.columns if c.key in row.__dict__}


_JOB_COLUMNS = select(_JOBS)
# Built once: a statement made anew per call spends more CPU on its cache key than on the query.
_LOAD_JOB = select(_JOBS).where(_JOBS.c.id == bindparam("job_id"))
_LOAD_STAGES = select(_STAGES).where(_STAGES.c.job_id == bindparam("job_id"))


def job_states(session: Session, job_ids: Sequence[str]) -> dict[str, JobState]:
    """What decides whether the running attempts of these jobs must stop, by job id (any owner's)."""
    query = select(_JOBS.c.id, _JOBS.c.status, _JOBS.c.workflow_id, _JOBS.c.deadline_at).where(
        _JOBS.c.id.in_(job_ids))
    return {row.id: JobState(JobStatus(row.status), row.workflow_id, row.deadline_at)
            for row in session.execute(query)}


def load_job(session: Session, job_id: str, *, with_stages: bool = True) -> Job:
    """The job, if the current principal may see it (another key's job is not found).

    Plain rows, no ORM identity map (about a third of the cost); in a writing transaction
    they include its own uncommitted changes, as the statements share its connection."""
    row = session.execute(_LOAD_JOB, {"job_id": job_id}).first()
    if row is None or not visible(row.key_id):
        raise JobNotFound(job_id=job_id)
    stages = session.execute(_LOAD_STAGES, {"job_id": job_id}).all() if with_stages else []
    return job_from_row(row, stages)  # type: ignore[arg-type]  # a Row has the same attributes


def load_jobs_in(session: Session, job_ids: Sequence[str], status: JobStatus) -> dict[str, Job]:
    """Those of ``job_ids`` that are in ``status``, without their stages, by id."""
    rows = session.execute(_JOB_COLUMNS.where(_JOBS.c.id.in_(list(job_ids)), _JOBS.c.status == status.value)).all()
    return {row.id: job_from_row(row) for row in rows if visible(row.key_id)}  # type: ignore[arg-type]


def visible(key_id: str | None) -> bool:
    """Whether the principal of the current request may see something ``key_id`` created."""
    principal = access.current()
    return principal is None or principal.may_see(key_id)


def owned(query: Any) -> Any:
    """``query`` over jobs, limited to the current principal's own unless it sees all."""
    key_id = access.owner_filter()
    return query if key_id is None else query.where(JobRow.key_id == key_id)


def _stage_rows(session: Session, job_id: str) -> Sequence[StageRow]:
    return session.scalars(select(StageRow).where(StageRow.job_id == job_id)).all()


def stage_row(session: Session, job_id: str, name: str) -> StageRow:
    row = session.get(StageRow, (job_id, name))
    if row is None:
        raise JobNotFound(f"job {job_id} has no stage {name}", job_id=job_id, stage=name)
    return row


def find_by_idempotency_key(session: Session, owner: str, key: str) -> Job | None:
    row = session.scalars(
        select(JobRow).where(JobRow.owner == owner, JobRow.idempotency_key == key)
    ).first()
    return None if row is None else job_from_row(row, _stage_rows(session, row.id))


def list_jobs(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    pipeline: str | None = None,
    facade: str | None = None,
    limit: int = 50,
    offset: int = 0,
    newest_first: bool = True,
) -> tuple[list[Job], int]:
    """A page of jobs (without stages) and the total matching the filters (the caller's own)."""
    query = owned(select(JobRow))
    if statuses:
        query = query.where(JobRow.status.in_(list(statuses)))
    if pipeline:
        query = query.where(JobRow.pipeline == pipeline)
    if facade:
        query = query.where(JobRow.facade == facade)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = JobRow.created_at.desc() if newest_first else JobRow.created_at.asc()
    rows = session.scalars(query.order_by(order, JobRow.id).limit(limit).offset(offset)).all()
    return [job_from_row(r) for r in rows], total


def transition(session: Session, job_id: str, target: JobStatus, *, current: Job | None = None,
               **fields: Any) -> Job:
    """Move a job to ``target`` if the table allows it from its current status; the job as it
    is now, without its stages. ``current``: the job as this transaction read it, which saves
    reading it back.

    The update is guarded on the current status, so two racing callers cannot both win:
    the loser sees the status the winner left and gets ``IllegalTransition``.
    """
    now = utcnow()
    values: dict[str, Any] = {"status": target.value, "updated_at": now, **fields}
    if target.terminal:
        values.setdefault("ended_at", now)
    current = current if current is not None and values.keys() <= _JOB_FIELDS else None
    query = _update(_JOBS, tuple(values), guard=target, returning=current is None)
    result = session.execute(query, _binds(values, where_id=job_id))
    session.expire_all()
    if current is not None and result.rowcount == 1:  # type: ignore[attr-defined]
        return dataclasses.replace(current, stages=(), **{**values, "status": target})
    row = None if current is not None else result.first()
    if row is None or not visible(row.key_id):
        now_is = load_job(session, job_id, with_stages=False)
        check_transition(now_is.status, target)  # raises with the current status named
        return now_is
    return job_from_row(row)  # type: ignore[arg-type]  # a Row has the same attributes


#: Columns of a job whose values are its domain fields as they are (the status is converted;
#: error_* and priority are not).
_JOB_FIELDS = frozenset(f.name for f in dataclasses.fields(Job)) - {"error", "priority", "stages"}


def _binds(values: dict[str, Any], **where: Any) -> dict[str, Any]:
    """The parameters of an ``_update`` statement: ``where`` as given, the values as ``set_<column>``."""
    return {**where, **{f"set_{k}": v for k, v in values.items()}}


@functools.lru_cache(maxsize=512)
def _update(table: Table, keys: tuple[str, ...], *, guard: JobStatus | None = None, by_workflow: bool = False,
            returning: bool | str = False) -> Update:
    """``UPDATE table SET <keys> WHERE`` the row (bound as ``where_id``, and for stages
    ``where_name``), built once per shape: a statement built per call spends more CPU on its
    cache key than on the query. ``guard``: only from a status that may move to it;
    ``by_workflow``: only while ``where_workflow_id`` runs the job; ``returning``: True for the
    whole row, a column name for that column."""
    key_column = table.c.id if table is _JOBS else table.c.job_id
    query = update(table).where(key_column == bindparam("where_id"))
    if table is _STAGES:
        query = query.where(table.c.name == bindparam("where_name"))
    if guard is not None:
        query = query.where(table.c.status.in_([s.value for s in sources_of(guard)]))
    if by_workflow:
        query = query.where(table.c.workflow_id == bindparam("where_workflow_id"))
    query = query.values({k: bindparam(f"set_{k}", type_=table.c[k].type) for k in keys})
    if returning is True:
        return query.returning(*table.c)
    return query.returning(table.c[returning]) if returning else query


def update_job(session: Session, job_id: str, *, workflow_id_is: str | None = None, **fields: Any) -> bool:
    """Change fields other than status (progress, message, current stage …); with
    ``workflow_id_is``, only while that workflow runs the job. Whether a row changed."""
    fields["updated_at"] = utcnow()
    where = {"where_id": job_id}
    if workflow_id_is is not None:
        where["where_workflow_id"] = workflow_id_is
    result = session.execute(_update(_JOBS, tuple(fields), by_workflow=workflow_id_is is not None),
                             _binds(fields, **where))
    session.expire_all()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def update_stage(session: Session, job_id: str, name: str, **fields: Any) -> None:
    session.execute(_update(_STAGES, tuple(fields)), _binds(fields, where_id=job_id, where_name=name))
    session.expire_all()


def start_stage(session: Session, job_id: str, name: str, **fields: Any) -> dict[str, Any]:
    """Update the stage as it starts; its params (what its generator is configured with)."""
    params = session.execute(_update(_STAGES, tuple(fields), returning="params"),
                             _binds(fields, where_id=job_id, where_name=name)).scalar_one_or_none()
    session.expire_all()
    if params is None:
        raise JobNotFound(f"job {job_id} has no stage {name}", job_id=job_id, stage=name)
    return dict(params)


def count_jobs(session: Session, *, statuses: Sequence[str] = (), key_id: str | None = None) -> int:
    query = select(func.count()).select_from(JobRow)
    if key_id is not None:
        query = query.where(JobRow.key_id == key_id)
    if statuses:
        query = query.where(JobRow.status.in_(list(statuses)))
    return session.scalar(query) or 0
