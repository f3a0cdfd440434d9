"""API key rows in, domain keys out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from montage.domain.access import ApiKey, Scope
from montage.errors import KeyNotFound
from montage.store.access_models import ApiKeyRow


def key_from_row(row: ApiKeyRow) -> ApiKey:
    return ApiKey(id=row.id, name=row.name, scope=Scope.parse(row.scope), prefix=row.prefix,
                  created_at=row.created_at, expires_at=row.expires_at, revoked_at=row.revoked_at,
                  last_used_at=row.last_used_at)


def insert_key(s: Session, row: ApiKeyRow) -> ApiKey:
    s.add(row)
    s.flush()
    return key_from_row(row)


def by_hash(s: Session, secret_hash: str) -> tuple[ApiKey, str] | None:
    """The key stored with this hash, and the hash as stored (to compare in constant time)."""
    row = s.scalars(select(ApiKeyRow).where(ApiKeyRow.secret_hash == secret_hash)).first()
    return None if row is None else (key_from_row(row), row.secret_hash)


def list_keys(s: Session) -> list[ApiKey]:
    return [key_from_row(r) for r in s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id))]


def revoke(s: Session, key_id: str, now: datetime) -> ApiKey:
    row = s.get(ApiKeyRow, key_id)
    if row is None:
        raise KeyNotFound(f"no API key {key_id!r}", key_id=key_id)
    if row.revoked_at is None:
        s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(revoked_at=now)
                  .execution_options(synchronize_session=False))
        s.expire_all()
        row = s.get(ApiKeyRow, key_id)
        assert row is not None
    return key_from_row(row)


def count_unrevoked(s: Session) -> int:
    """Keys not revoked (expired ones count: a server whose keys all expired stays closed)."""
    return s.scalar(select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None))) or 0


def touch(s: Session, key_id: str, now: datetime) -> None:
    """Record that the key was used (callers do it at most once per cache period)."""
    s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=now)
              .execution_options(synchronize_session=False))
