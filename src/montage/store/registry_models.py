"""Tables of processing servers, workflow definitions and batch tasks (migration 0003)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from montage.store.models import Base


class ServerRow(Base):
    __tablename__ = "servers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    type: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(default=True)
    batch_size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    current_task_id: Mapped[str | None] = mapped_column(String(64))
    health: Mapped[str | None] = mapped_column(String(16))
    health_error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None]
    #: The monitor of whichever process moves this forward first probes the server next.
    next_check_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WorkflowRow(Base):
    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    scenario: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[str] = mapped_column(String(50))
    workflow_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    node_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    output_mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("workflows.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_workflows_name_version"),
        Index("ix_workflows_status_id", "status", "id"),
    )


class BatchTaskRow(Base):
    __tablename__ = "batch_tasks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    workflow_id: Mapped[int | None] = mapped_column(Integer)
    workflow_name: Mapped[str] = mapped_column(String(200))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    server_name: Mapped[str | None] = mapped_column(String(100))
    key_id: Mapped[str | None] = mapped_column(String(32))  # the API key that created it
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_batch_tasks_created", "created_at"),)


class BatchExecutionRow(Base):
    __tablename__ = "batch_executions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("batch_tasks.id", ondelete="CASCADE"))
    server_id: Mapped[int | None] = mapped_column(Integer)
    server_name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_message: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_batch_executions_task_id_id", "task_id", "id"),)
