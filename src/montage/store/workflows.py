"""Workflow rows in, :class:`~montage.domain.workflows.Workflow` out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from montage.domain.workflows import Workflow, WorkflowStatus, version_key
from montage.errors import WorkflowNotFound
from montage.store.jobs import utcnow
from montage.store.registry_models import WorkflowRow


def workflow_from_row(row: WorkflowRow) -> Workflow:
    return Workflow(
        id=row.id, name=row.name, description=row.description, scenario=row.scenario, version=row.version,
        workflow_config=row.workflow_config, node_config=row.node_config, input_mapping=row.input_mapping,
        output_mapping=row.output_mapping, parameters=row.parameters, parent_id=row.parent_id,
        status=WorkflowStatus(row.status), created_at=row.created_at, updated_at=row.updated_at,
    )


def insert_workflow(s: Session, **fields: Any) -> Workflow:
    now = utcnow()
    row = WorkflowRow(created_at=now, updated_at=now, **fields)
    s.add(row)
    s.flush()
    return workflow_from_row(row)


def load_workflow(s: Session, workflow_id: int) -> Workflow:
    row = s.get(WorkflowRow, workflow_id)
    if row is None:
        raise WorkflowNotFound(f"workflow {workflow_id} not found", workflow_id=workflow_id)
    return workflow_from_row(row)


def exists(s: Session, name: str, version: str, *, besides: int | None = None) -> bool:
    query = select(WorkflowRow.id).where(WorkflowRow.name == name, WorkflowRow.version == version)
    if besides is not None:
        query = query.where(WorkflowRow.id != besides)
    return s.scalars(query).first() is not None


def list_workflows(s: Session, *, status: str | None, scenario: str | None, skip: int, limit: int
                   ) -> list[Workflow]:
    """A page, oldest first; without ``status``, hidden workflows are left out."""
    query = select(WorkflowRow)
    if status is None:
        query = query.where(WorkflowRow.status != WorkflowStatus.HIDDEN.value)
    else:
        query = query.where(WorkflowRow.status == status)
    if scenario is not None:
        query = query.where(WorkflowRow.scenario == scenario)
    rows = s.scalars(query.order_by(WorkflowRow.id).offset(skip).limit(limit)).all()
    return [workflow_from_row(r) for r in rows]


def versions_of(s: Session, name: str) -> list[Workflow]:
    """Every version of the workflows called ``name``, lowest version first."""
    rows = s.scalars(select(WorkflowRow).where(WorkflowRow.name == name)).all()
    return sorted((workflow_from_row(r) for r in rows), key=lambda w: (version_key(w.version), w.id))


def update_workflow(s: Session, workflow_id: int, **fields: Any) -> Workflow:
    s.execute(update(WorkflowRow).where(WorkflowRow.id == workflow_id).values(updated_at=utcnow(), **fields)
              .execution_options(synchronize_session=False))
    s.expire_all()
    return load_workflow(s, workflow_id)


def delete_workflow(s: Session, workflow_id: int) -> None:
    # Versions made from it keep existing; they just lose their parent (also done by the foreign key).
    s.execute(update(WorkflowRow).where(WorkflowRow.parent_id == workflow_id).values(parent_id=None)
              .execution_options(synchronize_session=False))
    s.execute(delete(WorkflowRow).where(WorkflowRow.id == workflow_id))
