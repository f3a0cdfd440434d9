"""Alembic environment for montage's app tables."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from montage.store import (
    access_models,  # noqa: F401  (api keys)
    knowledge_models,  # noqa: F401  (its tables join Base.metadata)
    registry_models,  # noqa: F401  (servers, workflows, batch tasks)
    webhook_models,  # noqa: F401  (webhooks and their deliveries)
)
from montage.store.models import Base

config = context.config
target_metadata = Base.metadata
# Serialise concurrent migrations of one PostgreSQL database (several replicas starting).
_LOCK_ID = 7_270_001


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_lock({_LOCK_ID})"))
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_unlock({_LOCK_ID})"))
                connection.commit()
    engine.dispose()


run_migrations_online()
