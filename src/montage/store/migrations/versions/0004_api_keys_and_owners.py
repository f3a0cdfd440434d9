"""api keys, and the key that created each job and batch task

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_index("ix_api_keys_created", "api_keys", ["created_at"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch.create_index("ix_jobs_key_created", ["key_id", "created_at"])
    with op.batch_alter_table("batch_tasks") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batch_tasks") as batch:
        batch.drop_column("key_id")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_key_created")
        batch.drop_column("key_id")
    op.drop_index("ix_api_keys_created", table_name="api_keys")
    op.drop_table("api_keys")
