"""Batch task and execution rows in, domain objects out; and a batch's child jobs at a glance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from montage.domain import access
from montage.domain.batch import BatchExecution, BatchTask, ExecutionStatus
from montage.errors import BatchTaskNotFound, ExecutionNotFound
from montage.store.jobs import utcnow, visible
from montage.store.models import JobRow, StageRow
from montage.store.registry_models import BatchExecutionRow, BatchTaskRow


def execution_from_row(row: BatchExecutionRow) -> BatchExecution:
    return BatchExecution(
        id=row.id, task_id=row.task_id, server_id=row.server_id, server_name=row.server_name,
        status=ExecutionStatus(row.status), job_id=row.job_id, message=row.message, progress=row.progress,
        result=row.result, error_message=row.error_message, plan=row.plan, started_at=row.started_at,
        finished_at=row.finished_at, created_at=row.created_at, updated_at=row.updated_at,
    )


def task_from_row(row: BatchTaskRow, latest: BatchExecution | None) -> BatchTask:
    return BatchTask(id=row.id, name=row.name, description=row.description, workflow_id=row.workflow_id,
                     workflow_name=row.workflow_name, parameters=row.parameters, server_name=row.server_name,
                     created_at=row.created_at, updated_at=row.updated_at, latest=latest)


# -- tasks -------------------------------------------------------------------------------------

def insert_task(s: Session, **fields: Any) -> BatchTask:
    now = utcnow()
    row = BatchTaskRow(created_at=now, updated_at=now, key_id=access.creating_key(), **fields)
    s.add(row)
    s.flush()
    return task_from_row(row, None)


def load_task(s: Session, task_id: str) -> BatchTask:
    row = s.get(BatchTaskRow, task_id)
    if row is None or not visible(row.key_id):
        raise BatchTaskNotFound(f"task {task_id!r} not found", task_id=task_id)
    return task_from_row(row, latest_execution(s, task_id))


def list_tasks(s: Session, *, skip: int = 0, limit: int = 100) -> list[BatchTask]:
    query = select(BatchTaskRow)
    if (key_id := access.owner_filter()) is not None:
        query = query.where(BatchTaskRow.key_id == key_id)
    rows = s.scalars(query.order_by(BatchTaskRow.created_at.desc(), BatchTaskRow.id)
                     .offset(skip).limit(limit)).all()
    newest = select(func.max(BatchExecutionRow.id)).where(
        BatchExecutionRow.task_id.in_([r.id for r in rows])).group_by(BatchExecutionRow.task_id)
    latest = {e.task_id: execution_from_row(e) for e in
              s.scalars(select(BatchExecutionRow).where(BatchExecutionRow.id.in_(newest))).all()}
    return [task_from_row(r, latest.get(r.id)) for r in rows]


def update_task(s: Session, task_id: str, **fields: Any) -> BatchTask:
    s.execute(update(BatchTaskRow).where(BatchTaskRow.id == task_id).values(updated_at=utcnow(), **fields)
              .execution_options(synchronize_session=False))
    s.expire_all()
    return load_task(s, task_id)


def delete_task(s: Session, task_id: str) -> None:
    s.execute(delete(BatchExecutionRow).where(BatchExecutionRow.task_id == task_id))
    s.execute(delete(BatchTaskRow).where(BatchTaskRow.id == task_id))


# -- executions --------------------------------------------------------------------------------

def insert_execution(s: Session, **fields: Any) -> BatchExecution:
    now = utcnow()
    row = BatchExecutionRow(**{"created_at": now, "updated_at": now, "progress": 0.0, "message": "", **fields})
    s.add(row)
    s.flush()
    return execution_from_row(row)


def load_execution(s: Session, execution_id: int) -> BatchExecution:
    row = s.get(BatchExecutionRow, execution_id)
    task = None if row is None else s.get(BatchTaskRow, row.task_id)
    if row is None or (task is not None and not visible(task.key_id)):
        raise ExecutionNotFound(f"execution {execution_id} not found", execution_id=execution_id)
    return execution_from_row(row)


def latest_execution(s: Session, task_id: str) -> BatchExecution | None:
    row = s.scalars(select(BatchExecutionRow).where(BatchExecutionRow.task_id == task_id)
                    .order_by(BatchExecutionRow.id.desc()).limit(1)).first()
    return None if row is None else execution_from_row(row)


def list_executions(s: Session, task_id: str, *, skip: int = 0, limit: int = 100) -> list[BatchExecution]:
    rows = s.scalars(select(BatchExecutionRow).where(BatchExecutionRow.task_id == task_id)
                     .order_by(BatchExecutionRow.id.desc()).offset(skip).limit(limit)).all()
    return [execution_from_row(r) for r in rows]


def open_executions(s: Session) -> list[BatchExecution]:
    """Executions not yet ended (the monitor checks them against their jobs)."""
    ended = [st.value for st in ExecutionStatus if st.terminal]
    rows = s.scalars(select(BatchExecutionRow).where(BatchExecutionRow.status.not_in(ended))).all()
    return [execution_from_row(r) for r in rows]


def open_executions_on(s: Session, task_id: str, server_name: str) -> list[BatchExecution]:
    """The task's executions on that server that have not ended."""
    ended = [st.value for st in ExecutionStatus if st.terminal]
    rows = s.scalars(select(BatchExecutionRow).where(
        BatchExecutionRow.task_id == task_id, BatchExecutionRow.server_name == server_name,
        BatchExecutionRow.status.not_in(ended))).all()
    return [execution_from_row(r) for r in rows]


def update_execution(s: Session, execution_id: int, *, only_if_open: bool = False, **fields: Any) -> bool:
    """Change an execution; with ``only_if_open`` an ended one is left as it is. Whether it changed."""
    query = update(BatchExecutionRow).where(BatchExecutionRow.id == execution_id)
    if only_if_open:
        query = query.where(BatchExecutionRow.status.not_in([st.value for st in ExecutionStatus if st.terminal]))
    result = s.execute(query.values(updated_at=utcnow(), **fields).execution_options(synchronize_session=False))
    s.expire_all()
    return bool(result.rowcount)  # type: ignore[attr-defined]


# -- the child jobs of an execution ------------------------------------------------------------

@dataclass(frozen=True)
class ChildJob:
    id: str
    key: str
    status: str
    input: dict[str, Any]
    outputs: dict[str, Any]
    error: str | None


def child_jobs(s: Session, owner: str) -> dict[str, ChildJob]:
    """The jobs an execution created, by their idempotency key (the item's index)."""
    jobs = s.execute(select(JobRow.id, JobRow.idempotency_key, JobRow.status, JobRow.input, JobRow.error_message)
                     .where(JobRow.owner == owner)).all()
    ids = [j.id for j in jobs]
    outputs: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids, 500):
        for job_id, out in s.execute(select(StageRow.job_id, StageRow.outputs).where(StageRow.job_id.in_(chunk))):
            outputs[job_id] = {**outputs.get(job_id, {}), **(out or {})}
    return {str(j.idempotency_key): ChildJob(id=j.id, key=str(j.idempotency_key), status=j.status, input=j.input,
                                              outputs=outputs.get(j.id, {}), error=j.error_message)
            for j in jobs}


def child_status_counts(s: Session, owner: str) -> tuple[tuple[str, int], ...]:
    """How many of an execution's item jobs are in each status: one indexed aggregate, so a
    parent can tell whether anything moved without loading every item."""
    rows = s.execute(select(JobRow.status, func.count()).where(JobRow.owner == owner).group_by(JobRow.status))
    return tuple(sorted((str(status), int(n)) for status, n in rows))


def job_status(s: Session, job_id: str) -> tuple[str, str | None] | None:
    """(status, error message) of a job, or None if there is no such job."""
    row = s.execute(select(JobRow.status, JobRow.error_message).where(JobRow.id == job_id)).first()
    return None if row is None else (row.status, row.error_message)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
