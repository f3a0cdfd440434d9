"""index of a queue's order: the jobs ahead of a queued one

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_queue_order", "jobs", ["queue", "status", "priority", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_queue_order", table_name="jobs")
