"""Executors as the takeover sees them: which are dead, and claiming one to take over.

The ``workers`` table already holds each executor's heartbeat; a dead executor's row gets
status ``taken_over`` once a live executor has handed its unfinished workflows back to the
queues, so the row records who did it and nothing takes it over twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from montage.store.jobs import utcnow
from montage.store.models import WorkerRow

#: Status of an executor whose unfinished work another executor has re-queued.
TAKEN_OVER = "taken_over"
#: Status an executor writes when it exits after a graceful shutdown (no need to wait for the timeout).
STOPPED = "stopped"
EXECUTOR_ROLES = ("serve", "worker")


def dead_executor_ids(session: Session, *, me: str, stale_before: datetime) -> list[str]:
    """Executors other than ``me`` that stopped, or whose last heartbeat is older than
    ``stale_before``, and that nobody has taken over yet."""
    rows = session.scalars(
        select(WorkerRow.id).where(
            WorkerRow.id != me, WorkerRow.role.in_(EXECUTOR_ROLES), WorkerRow.status != TAKEN_OVER,
            or_(WorkerRow.last_heartbeat < stale_before, WorkerRow.status == STOPPED),
        ).order_by(WorkerRow.id)
    ).all()
    return list(rows)


def claim_dead_executor(session: Session, executor_id: str, *, stale_before: datetime) -> WorkerRow | None:
    """Lock the executor's row if it is still dead and not taken over; None when another
    executor holds it or it came back. PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two live
    executors never take over the same one at once."""
    query = select(WorkerRow).where(
        WorkerRow.id == executor_id, WorkerRow.status != TAKEN_OVER,
        or_(WorkerRow.last_heartbeat < stale_before, WorkerRow.status == STOPPED),
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first()


def mark_taken_over(row: WorkerRow, by: str, recovered: int) -> None:
    row.status = TAKEN_OVER
    row.current_job_id = None
    labels = dict(row.labels or {})
    labels["taken_over"] = {"by": by, "at": utcnow().isoformat(), "workflows": recovered}
    row.labels = labels


def mark_stopped(session: Session, executor_id: str) -> None:
    """Say this executor left on purpose: its unfinished work can be taken over at once."""
    row = session.get(WorkerRow, executor_id)
    if row is not None:
        row.status, row.current_job_id = STOPPED, None


def executors(session: Session) -> Sequence[WorkerRow]:
    return session.scalars(select(WorkerRow).order_by(WorkerRow.id)).all()
