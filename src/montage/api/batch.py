"""Batch tasks (``shared/seeds/servers-batch-workflows-api.md`` §2): ``/batch…``.

``/batch/process`` runs a workflow once per sub-folder of ``target_folders`` whose name contains
one of ``folder_keywords``, on the selected server, at most ``batch_size`` at a time, writing
results under ``output_root/<folder>/``. Status words: pending, running, completed, failed,
cancelled; ``progress`` is 0–1 (items ended / items).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from montage.api.registry import as_bad_request, registry, seed_time
from montage.domain.batch import BatchExecution, BatchTask
from montage.errors import ServerDisabled, ServerUnavailable
from montage.services.batch import BatchRequest, NewTask

router = APIRouter(prefix="/batch", tags=["batch"])


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    workflow_name: str = Field(description="Name of the workflow (its highest version that is not archived).")
    target_folders: list[str] = Field(description="Folders whose sub-folders are the items.")
    folder_keywords: list[str] = Field(default_factory=list, description="A sub-folder is an item when its "
                                       "name contains one of these (case-insensitive); none: every sub-folder.")
    selected_server: str = Field(description="Name (or id) of the server to run on.")
    output_root: str = Field(description="Results go to output_root/<folder>/.")
    parameters: dict[str, Any] | None = Field(None, description="Workflow parameters (montage's addition).")

    def request(self) -> BatchRequest:
        return BatchRequest(**self.model_dump())


class TaskBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    description: str | None = None
    workflow_id: int
    parameters: dict[str, Any] | None = None


class TaskChanges(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ExecuteBody(BaseModel):
    server_id: int | str = Field(description="Id (or name) of the server.")


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: str = Field(description="pending, running, completed, failed or cancelled.")
    error_message: str | None = None
    result: dict[str, Any] | None = None


def task_status(task: BatchTask) -> dict[str, Any]:
    """The contract's task status (2.3, 2.4): the latest execution's state."""
    run = task.latest
    return {"task_id": task.id, "status": run.status.value if run else "pending",
            "message": run.message if run else "created; not executed yet",
            "created_at": seed_time(task.created_at),
            "updated_at": seed_time(max(task.updated_at, run.updated_at) if run else task.updated_at),
            "progress": round(run.progress, 4) if run else 0.0,
            "server_name": run.server_name if run else task.server_name,
            "results": run.result if run else None, "error": run.error_message if run else None}


def task_body(task: BatchTask) -> dict[str, Any]:
    """A task with its definition (2.5–2.7)."""
    return {"id": task.id, "name": task.name, "description": task.description, "workflow_id": task.workflow_id,
            "workflow_name": task.workflow_name, "parameters": task.parameters, **task_status(task)}


def execution_body(run: BatchExecution) -> dict[str, Any]:
    return {"id": run.id, "task_id": run.task_id, "server_id": run.server_id, "server_name": run.server_name,
            "status": run.status.value, "job_id": run.job_id, "message": run.message,
            "progress": round(run.progress, 4), "result": run.result, "error_message": run.error_message,
            "started_at": seed_time(run.started_at), "finished_at": seed_time(run.finished_at),
            "created_at": seed_time(run.created_at), "updated_at": seed_time(run.updated_at)}


@router.post("/check-server", summary="Could a batch start on this server now? (400 if not)")
def check_server(body: BatchBody, request: Request) -> dict[str, Any]:
    try:
        server = registry(request).batch.check_server(body.request())
    except ServerUnavailable as exc:
        raise as_bad_request(exc) from None
    return {"available": True, "server_name": server.name, "batch_size": server.batch_size, "message": "服务器可用"}


@router.post("/process", summary="Start a batch: the workflow once per matching sub-folder")
def process(body: BatchBody, request: Request) -> dict[str, Any]:
    task, _ = registry(request).batch.process(body.request())
    status = task_status(task)
    return {"task_id": task.id, "status": status["status"], "message": "批处理任务已启动",
            "created_at": status["created_at"], "server_name": status["server_name"]}


@router.get("/tasks", summary="Every task's status, newest first")
def list_tasks(request: Request, skip: Annotated[int, Query(ge=0)] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return [task_status(t) for t in registry(request).batch.list_tasks(skip=skip, limit=limit)]


@router.get("/tasks/{task_id}", summary="A task's status, progress, results and error")
def get_task_status(task_id: str, request: Request) -> dict[str, Any]:
    return task_status(registry(request).batch.get_task(task_id))


@router.post("", summary="Create a task (a workflow with parameters) to execute later")
def create_task(body: TaskBody, request: Request) -> dict[str, Any]:
    new = NewTask(name=body.name, description=body.description, workflow_id=body.workflow_id,
                  parameters=body.parameters)
    return task_body(registry(request).batch.create_task(new))


@router.get("/executions/{execution_id}", summary="An execution")
def get_execution(execution_id: int, request: Request) -> dict[str, Any]:
    return execution_body(registry(request).batch.get_execution(execution_id))


@router.put("/executions/{execution_id}/status", summary="Set an execution's status (an ended status stops it)")
def set_execution_status(execution_id: int, body: StatusBody, request: Request) -> dict[str, Any]:
    run = registry(request).batch.set_execution_status(execution_id, body.status, body.error_message, body.result)
    return execution_body(run)


@router.get("/{task_id}", summary="A task")
def get_task(task_id: str, request: Request) -> dict[str, Any]:
    return task_body(registry(request).batch.get_task(task_id))


@router.put("/{task_id}", summary="Change a task's name, description or parameters")
def update_task(task_id: str, body: TaskChanges, request: Request) -> dict[str, Any]:
    return task_body(registry(request).batch.update_task(task_id, body.model_dump()))


@router.delete("/{task_id}", summary="Delete a task and its executions (a running one is cancelled)")
def delete_task(task_id: str, request: Request) -> dict[str, str]:
    registry(request).batch.delete_task(task_id)
    return {"message": "Task deleted successfully"}


@router.post("/{task_id}/execute", summary="Execute the task on a server (400 if it is not online)")
def execute(task_id: str, body: ExecuteBody, request: Request) -> dict[str, Any]:
    try:
        run = registry(request).batch.execute(task_id, body.server_id)
    except (ServerUnavailable, ServerDisabled) as exc:
        raise as_bad_request(exc) from None
    return execution_body(run)


@router.get("/{task_id}/executions", summary="A task's executions, newest first")
def executions(task_id: str, request: Request, skip: Annotated[int, Query(ge=0)] = 0,
               limit: Annotated[int, Query(ge=1, le=100)] = 100) -> list[dict[str, Any]]:
    return [execution_body(e) for e in registry(request).batch.executions(task_id, skip=skip, limit=limit)]
