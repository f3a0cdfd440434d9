"""Append-only records of a job: events, artifacts, approvals; and executor heartbeats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, event, insert, select, text
from sqlalchemy.orm import Session

from montage.domain.jobs import Approval, Artifact, JobEvent
from montage.store.jobs import utcnow
from montage.store.models import ApprovalRow, ArtifactRow, EventRow, WorkerRow

# A job's events must become visible in id order, or a reader of one job's events after
# ``id > last`` (a stream's replay, a webhook's cursor) could skip a row that commits after a
# larger id. SQLite: writers are serialised already. PostgreSQL: the events are inserted just
# before the transaction commits, under a transaction-scoped advisory lock per job, so the
# lock covers only the insert and the commit, and only writers of the same job queue on it.
# Across jobs ids may still commit out of order: readers of every job's events (the live hub)
# follow the holes this leaves until they fill (``services.events``). On both, a transaction's
# events are held back until its commit and go in as one statement.
_EVENT_LOCKS = text("SELECT count(pg_advisory_xact_lock(hashtextextended(j, 7270002))) "
                    "FROM unnest(CAST(:jobs AS text[])) AS j")
_PENDING = "montage.pending_events"
_EVENTS = cast(Table, EventRow.__table__)
_INSERT_EVENTS = insert(_EVENTS)


@event.listens_for(Session, "before_commit")
def _insert_pending_events(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if rows:
        if session.get_bind().dialect.name == "postgresql":
            # each job's lock, always in one order: no deadlock
            session.execute(_EVENT_LOCKS, {"jobs": sorted({row["job_id"] for row in rows})})
        session.execute(_INSERT_EVENTS, rows)


@event.listens_for(Session, "after_rollback")
def _drop_pending_events(session: Session) -> None:
    session.info.pop(_PENDING, None)


def event_from_row(row: EventRow) -> JobEvent:
    return JobEvent(
        id=row.id, job_id=row.job_id, kind=row.kind, stage=row.stage, status=row.status,
        progress=row.progress, message=row.message, payload=row.payload or {}, created_at=row.created_at,
    )


def append_event(
    session: Session,
    job_id: str,
    kind: str,
    *,
    stage: str | None = None,
    status: str | None = None,
    progress: float | None = None,
    message: str = "",
    payload: dict[str, Any] | None = None,
) -> None:
    """Add one event to the job's stream, in the caller's transaction."""
    row = {"job_id": job_id, "kind": kind, "stage": stage, "status": status, "progress": progress,
           "message": message, "payload": payload or {}, "created_at": utcnow()}
    session.info.setdefault(_PENDING, []).append(row)


def events_after(session: Session, job_id: str, after_id: int, limit: int = 1000) -> list[JobEvent]:
    rows = session.scalars(
        select(EventRow).where(EventRow.job_id == job_id, EventRow.id > after_id)
        .order_by(EventRow.id).limit(limit)
    ).all()
    return [event_from_row(r) for r in rows]


def tail_events(session: Session, after_id: int, limit: int = 2000) -> list[JobEvent]:
    """Events of every job after ``after_id``, oldest first (the live hub's feed)."""
    rows = session.scalars(select(EventRow).where(EventRow.id > after_id).order_by(EventRow.id).limit(limit)).all()
    return [event_from_row(r) for r in rows]


def events_in(session: Session, ids: Sequence[int]) -> list[JobEvent]:
    """The events among ``ids`` that are visible now, oldest first."""
    rows = session.scalars(select(EventRow).where(EventRow.id.in_(ids)).order_by(EventRow.id)).all()
    return [event_from_row(r) for r in rows]


def event_ids_from(session: Session, first_id: int) -> list[int]:
    """The ids of the visible events from ``first_id`` on, in order."""
    return list(session.scalars(select(EventRow.id).where(EventRow.id >= first_id).order_by(EventRow.id)))


def last_event_id(session: Session) -> int:
    return session.scalar(select(EventRow.id).order_by(EventRow.id.desc()).limit(1)) or 0


def artifact_from_row(row: ArtifactRow) -> Artifact:
    return Artifact(job_id=row.job_id, stage=row.stage, role=row.role, path=row.path, mime=row.mime,
                    bytes=row.bytes, sha256=row.sha256, created_at=row.created_at)


def upsert_artifact(session: Session, artifact: Artifact) -> None:
    session.merge(ArtifactRow(
        job_id=artifact.job_id, path=artifact.path, stage=artifact.stage, role=artifact.role,
        mime=artifact.mime, bytes=artifact.bytes, sha256=artifact.sha256, created_at=artifact.created_at,
    ))


def list_artifacts(session: Session, job_id: str) -> list[Artifact]:
    table = ArtifactRow.__table__.c
    rows = session.execute(
        select(ArtifactRow.__table__).where(table.job_id == job_id).order_by(table.created_at, table.path)
    ).all()
    return [artifact_from_row(r) for r in rows]  # type: ignore[arg-type]  # plain rows, same attributes


def delete_stage_artifacts(session: Session, job_id: str, stage: str) -> None:
    session.execute(delete(ArtifactRow).where(ArtifactRow.job_id == job_id, ArtifactRow.stage == stage))


def add_approval(
    session: Session, job_id: str, stage: str, decision: str, reason: str | None, comment: str | None
) -> Approval:
    row = ApprovalRow(job_id=job_id, stage=stage, decision=decision, reason=reason, comment=comment,
                      created_at=utcnow())
    session.add(row)
    session.flush()
    return Approval(id=row.id, job_id=job_id, stage=stage, decision=decision, reason=reason,
                    comment=comment, created_at=row.created_at)


def list_approvals(session: Session, job_id: str) -> list[Approval]:
    rows = session.scalars(select(ApprovalRow).where(ApprovalRow.job_id == job_id).order_by(ApprovalRow.id)).all()
    return [Approval(id=r.id, job_id=r.job_id, stage=r.stage, decision=r.decision, reason=r.reason,
                     comment=r.comment, created_at=r.created_at) for r in rows]


def heartbeat(session: Session, worker_id: str, *, hostname: str, pid: int, role: str,
              labels: dict[str, Any], status: str, current_job_id: str | None) -> None:
    now = utcnow()
    row = session.get(WorkerRow, worker_id)
    if row is None:
        session.add(WorkerRow(id=worker_id, hostname=hostname, pid=pid, role=role, labels=labels,
                              status=status, current_job_id=current_job_id, started_at=now, last_heartbeat=now))
        return
    row.hostname, row.pid, row.role, row.labels = hostname, pid, role, labels
    row.status, row.current_job_id, row.last_heartbeat = status, current_job_id, now


def mark_worker_started(session: Session, worker_id: str) -> None:
    row = session.get(WorkerRow, worker_id)
    if row is not None:
        row.started_at = utcnow()


def list_workers(session: Session) -> Sequence[WorkerRow]:
    return session.scalars(select(WorkerRow).order_by(WorkerRow.id)).all()


def workers_seen_since(session: Session, since: datetime) -> Sequence[WorkerRow]:
    return session.scalars(select(WorkerRow).where(WorkerRow.last_heartbeat >= since)).all()
