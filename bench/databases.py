"""A fresh PostgreSQL database per benchmark run (shared by bench/engine.py, bench/scale.py and
bench/tasks.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable


def postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """Create a database on the server of ``admin_url``; its URL and a function that drops it."""
    from sqlalchemy import create_engine, text

    from montage.settings import normalise_database_url

    admin = create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"montage_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{admin_url.rsplit('/', 1)[0]}/{name}", drop
