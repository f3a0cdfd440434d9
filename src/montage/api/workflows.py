"""Workflow definitions (``shared/seeds/servers-batch-workflows-api.md`` §3): ``/workflows…``.

Name and version are unique together (400 on a clash); a new version takes the next patch
number and points at its parent. Hidden workflows are listed only when asked for by status;
archived ones start no new runs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from montage.api.registry import registry, seed_time
from montage.domain.workflows import Workflow
from montage.services.workflows import WorkflowFields

router = APIRouter(prefix="/workflows", tags=["workflows"])


class WorkflowBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    description: str | None = None
    scenario: str | None = None
    version: str | None = None
    workflow_config: dict[str, Any] | None = None
    node_config: dict[str, Any] | None = None
    input_mapping: dict[str, Any] | None = None
    output_mapping: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None

    def fields(self) -> WorkflowFields:
        return WorkflowFields(**self.model_dump())


def workflow_body(w: Workflow) -> dict[str, Any]:
    return {"id": w.id, "name": w.name, "description": w.description, "scenario": w.scenario,
            "version": w.version, "workflow_config": w.workflow_config, "node_config": w.node_config,
            "input_mapping": w.input_mapping, "output_mapping": w.output_mapping, "parameters": w.parameters,
            "parent_id": w.parent_id, "status": w.status.value, "created_at": seed_time(w.created_at),
            "updated_at": seed_time(w.updated_at)}


@router.post("/", summary="Create a workflow")
@router.post("", include_in_schema=False)
def create(body: WorkflowBody, request: Request) -> dict[str, Any]:
    return workflow_body(registry(request).workflows.create(body.fields()))


@router.get("/", summary="List workflows (hidden ones only with status=hidden)")
@router.get("", include_in_schema=False)
def list_workflows(request: Request, status: str | None = None, scenario: str | None = None,
                   skip: Annotated[int, Query(ge=0)] = 0,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    found = registry(request).workflows.list_workflows(status=status, scenario=scenario, skip=skip, limit=limit)
    return [workflow_body(w) for w in found]


@router.get("/{workflow_id}", summary="A workflow")
def get_workflow(workflow_id: int, request: Request) -> dict[str, Any]:
    return workflow_body(registry(request).workflows.get(workflow_id))


@router.post("/{workflow_id}/versions", summary="A new version: the next patch number, parent_id the source")
def new_version(workflow_id: int, body: WorkflowBody, request: Request) -> dict[str, Any]:
    return workflow_body(registry(request).workflows.new_version(workflow_id, body.fields()))


@router.get("/{workflow_id}/versions", summary="Every version of this workflow's name, oldest first")
def versions(workflow_id: int, request: Request) -> list[dict[str, Any]]:
    return [workflow_body(w) for w in registry(request).workflows.versions(workflow_id)]


def _status_route(action: str, summary: str) -> None:
    def change(workflow_id: int, request: Request) -> dict[str, Any]:
        return workflow_body(registry(request).workflows.change_status(workflow_id, action))

    change.__name__ = f"{action}_workflow"
    router.put(f"/{{workflow_id}}/{action}", summary=summary)(change)


_status_route("hide", "Hide (status hidden)")
_status_route("show", "Show (status normal)")
_status_route("archive", "Archive: kept, but starts no new runs")
_status_route("activate", "Activate an archived workflow")


@router.put("/{workflow_id}", summary="Change a workflow's fields")
def update(workflow_id: int, body: WorkflowBody, request: Request) -> dict[str, Any]:
    return workflow_body(registry(request).workflows.update(workflow_id, body.fields()))


@router.delete("/{workflow_id}", summary="Delete a workflow")
def delete(workflow_id: int, request: Request) -> dict[str, str]:
    registry(request).workflows.delete(workflow_id)
    return {"message": "Workflow deleted successfully"}
