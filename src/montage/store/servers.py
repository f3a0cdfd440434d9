"""Server rows in, :class:`~montage.domain.servers.Server` out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from montage.domain.servers import Server, ServerStatus, ServerType, status_after_probe
from montage.errors import ServerNotFound
from montage.store.jobs import utcnow
from montage.store.registry_models import ServerRow


def server_from_row(row: ServerRow) -> Server:
    return Server(
        id=row.id, name=row.name, url=row.url, type=ServerType(row.type), enabled=row.enabled,
        batch_size=row.batch_size, status=ServerStatus(row.status), current_task_id=row.current_task_id,
        health=row.health, health_error=row.health_error, checked_at=row.checked_at,
        created_at=row.created_at, updated_at=row.updated_at,
    )


def insert_server(s: Session, **fields: Any) -> Server:
    now = utcnow()
    row = ServerRow(created_at=now, updated_at=now, **fields)
    s.add(row)
    s.flush()
    return server_from_row(row)


def _row(s: Session, key: str | int) -> ServerRow | None:
    """By name, else (for a number) by id: the seed addresses servers both ways."""
    row = s.scalars(select(ServerRow).where(ServerRow.name == str(key))).first()
    if row is None and str(key).isdigit():
        row = s.get(ServerRow, int(key))
    return row


def find_server(s: Session, key: str | int) -> Server | None:
    row = _row(s, key)
    return None if row is None else server_from_row(row)


def load_server(s: Session, key: str | int) -> Server:
    server = find_server(s, key)
    if server is None:
        raise ServerNotFound(f"server {key!r} not found", server_id=str(key))
    return server


def name_taken(s: Session, name: str) -> bool:
    return s.scalars(select(ServerRow.id).where(ServerRow.name == name)).first() is not None


def list_servers(s: Session, *, skip: int = 0, limit: int = 100) -> list[Server]:
    rows = s.scalars(select(ServerRow).order_by(ServerRow.id).offset(skip).limit(limit)).all()
    return [server_from_row(r) for r in rows]


def available_servers(s: Session) -> list[Server]:
    rows = s.scalars(select(ServerRow).where(
        ServerRow.enabled.is_(True), ServerRow.status == ServerStatus.ONLINE.value,
        ServerRow.current_task_id.is_(None)).order_by(ServerRow.id)).all()
    return [server_from_row(r) for r in rows]


def update_server(s: Session, server_id: int, **fields: Any) -> Server:
    s.execute(update(ServerRow).where(ServerRow.id == server_id).values(updated_at=utcnow(), **fields)
              .execution_options(synchronize_session=False))
    s.expire_all()
    return load_server(s, server_id)


def delete_server(s: Session, server_id: int) -> None:
    s.execute(delete(ServerRow).where(ServerRow.id == server_id))


def claim(s: Session, server_id: int, task_id: str) -> bool:
    """Give the server to ``task_id`` if it is enabled, online and free (one guarded update)."""
    result = s.execute(
        update(ServerRow)
        .where(ServerRow.id == server_id, ServerRow.enabled.is_(True),
               ServerRow.status == ServerStatus.ONLINE.value, ServerRow.current_task_id.is_(None))
        .values(current_task_id=task_id, status=ServerStatus.BUSY.value, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(s: Session, server_name: str, task_id: str) -> bool:
    """Free the server if ``task_id`` still holds it; busy becomes online, other statuses stay."""
    now = utcnow()
    held = (ServerRow.name == server_name, ServerRow.current_task_id == task_id)
    s.execute(update(ServerRow).where(*held, ServerRow.status == ServerStatus.BUSY.value)
              .values(status=ServerStatus.ONLINE.value).execution_options(synchronize_session=False))
    result = s.execute(update(ServerRow).where(*held).values(current_task_id=None, updated_at=now)
                       .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def held_servers(s: Session) -> list[Server]:
    rows = s.scalars(select(ServerRow).where(ServerRow.current_task_id.is_not(None))).all()
    return [server_from_row(r) for r in rows]


def due_for_check(s: Session, now: datetime) -> list[tuple[Server, datetime | None]]:
    """Servers whose next probe is due, with the ``next_check_at`` a claim must match."""
    rows = s.scalars(select(ServerRow).where(or_(ServerRow.next_check_at.is_(None),
                                                 ServerRow.next_check_at <= now))).all()
    return [(server_from_row(r), r.next_check_at) for r in rows]


def claim_check(s: Session, server_id: int, seen: datetime | None, until: datetime) -> bool:
    """Take the next probe of a server (one process wins; the others see it moved on)."""
    guard = ServerRow.next_check_at.is_(None) if seen is None else ServerRow.next_check_at == seen
    result = s.execute(update(ServerRow).where(ServerRow.id == server_id, guard).values(next_check_at=until)
                       .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def record_probe(s: Session, server_id: int, *, healthy: bool, error: str | None) -> Server | None:
    """Store a probe's result and move the status as a probe does; None if the server is gone."""
    row = s.get(ServerRow, server_id, with_for_update=True)
    if row is None:
        return None
    target = status_after_probe(ServerStatus(row.status), healthy, row.current_task_id is not None)
    now = utcnow()
    row.health, row.health_error, row.checked_at = ("healthy" if healthy else "unhealthy"), error, now
    if target.value != row.status:
        row.status, row.updated_at = target.value, now
    s.flush()
    return server_from_row(row)
