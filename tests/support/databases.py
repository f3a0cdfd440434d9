"""Fresh databases for tests: a SQLite folder, or a new PostgreSQL database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from montage.settings import normalise_database_url

POSTGRES_URL = os.environ.get("MONTAGE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"]
#: ``BACKENDS`` for a parametrized fixture: the PostgreSQL half skips when no server is given.
BACKEND_PARAMS = [pytest.param(b, marks=pytest.mark.skipif(b == "postgres" and not POSTGRES_URL,
                                                            reason="no PostgreSQL")) for b in BACKENDS]


@contextmanager
def fresh_database(backend: str, tmp: Path) -> Iterator[str | None]:
    """Yield a database URL for ``backend`` (None means the SQLite default under ``tmp``)."""
    if backend == "sqlite":
        yield None
        return
    assert POSTGRES_URL, "MONTAGE_TEST_POSTGRES_URL is not set"
    # pool_pre_ping: a PostgreSQL restart (tests/chaos) must not leave the drop a dead connection
    admin = create_engine(normalise_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    name = f"montage_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
