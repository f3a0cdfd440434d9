"""The task-manager API (``shared/seeds/task-manager-api.md``): ``/api/v1/tasks…``.

Typed background tasks on the job core. Core statuses map to the contract's five words in
:data:`STATUS`; errors use the contract's ``{error, message, code, details}`` (:func:`error_body`).
Statistics, queues and knowledge-base search are in ``api/task_stats.py``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from montage.api.core import iso
from montage.api.errors import ErrorShape
from montage.api.task_deps import task_field, task_services
from montage.domain.jobs import Job, JobStatus, Priority
from montage.domain.tasks import TaskView
from montage.errors import NotCancelable, NotRetryable, ValidationFailed
from montage.pipelines.tasks import TASK_TYPES, pipeline_name, task_type_of
from montage.services.tasks import NewTask, NotProcessing
from montage.store.tasks import SORTABLE

router = APIRouter(prefix="/api/v1/tasks", tags=["task-manager"])

#: Core status → the contract's status word.
STATUS: dict[JobStatus, str] = {
    JobStatus.CREATED: "queued", JobStatus.QUEUED: "queued", JobStatus.RUNNING: "processing",
    JobStatus.WAITING_APPROVAL: "processing", JobStatus.SUCCEEDED: "completed", JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "canceled",
}
WORDS = ("queued", "processing", "completed", "failed", "canceled")

#: Core error code → the contract's (anything else: by HTTP status, the core code kept as details.reason).
CODES = {"VALIDATION_ERROR": "INVALID_REQUEST", "UNKNOWN_PIPELINE": "INVALID_REQUEST",
         "JOB_NOT_FOUND": "TASK_NOT_FOUND", "NOT_CANCELABLE": "TASK_NOT_CANCELABLE",
         "NOT_RETRYABLE": "TASK_NOT_RETRYABLE", "QUEUE_FULL": "QUEUE_FULL", "NOT_PROCESSING": "TASK_NOT_PROCESSING",
         "SERVICE_UNAVAILABLE": "SERVICE_UNAVAILABLE", "KB_NOT_FOUND": "KB_NOT_FOUND", "NOT_FOUND": "NOT_FOUND"}
BY_STATUS = {400: "INVALID_REQUEST", 422: "INVALID_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
             409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE", 503: "SERVICE_UNAVAILABLE", 500: "INTERNAL_ERROR",
             401: "UNAUTHORIZED", 403: "FORBIDDEN", 429: "RATE_LIMITED"}
TITLES = {"INVALID_REQUEST": "Invalid request", "TASK_NOT_FOUND": "Task not found",
          "TASK_NOT_CANCELABLE": "Task cannot be canceled", "TASK_NOT_RETRYABLE": "Task cannot be retried",
          "TASK_NOT_PROCESSING": "Task is not processing", "QUEUE_FULL": "Queue is full",
          "SERVICE_UNAVAILABLE": "Service unavailable", "KB_NOT_FOUND": "Knowledge base not found",
          "NOT_FOUND": "Not found", "METHOD_NOT_ALLOWED": "Method not allowed", "CONFLICT": "Conflict",
          "PAYLOAD_TOO_LARGE": "Request too large", "INTERNAL_ERROR": "Internal server error",
          "UNAUTHORIZED": "Unauthorized", "FORBIDDEN": "Forbidden", "RATE_LIMITED": "Too many requests"}


def error_body(status: int, code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    """The contract's error body: ``{error, message, code, details}``."""
    contract = CODES.get(code) or BY_STATUS.get(status, code)
    details = {("task_id" if k == "job_id" else k): v for k, v in details.items()}
    if code not in CODES and code != contract:
        details.setdefault("reason", code)
    if contract == "TASK_NOT_FOUND":
        message = "Task with specified ID does not exist"
    return {"error": TITLES.get(contract, contract.replace("_", " ").capitalize()), "message": message,
            "code": contract, "details": details}


class TaskErrorBody(BaseModel):
    """The contract's error body."""

    error: str = Field(description="A short title, e.g. \"Task not found\".")
    message: str
    code: str = Field(description="INVALID_REQUEST, TASK_NOT_FOUND, TASK_NOT_CANCELABLE, …")
    details: dict[str, Any]


#: A request FastAPI cannot parse is the contract's 400 INVALID_REQUEST, not FastAPI's 422.
ERROR_SHAPE = ErrorShape(error_body, TaskErrorBody, validation_status=400, field_name=task_field)


class CreateTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_type: str = Field(description=f"One of: {', '.join(TASK_TYPES)}.")
    kb_id: str = Field(description="Knowledge base id.")
    priority: str | None = Field(None, description="low, normal (default), high or critical.")
    payload: dict[str, Any] = Field(description="What the task works on; its fields depend on task_type.")
    max_retries: int = Field(3, description="Retries after a failure, with exponential backoff (0–10).")
    timeout: float = Field(300, description="Seconds the task may run before it fails with TIMEOUT.")
    schedule_for: datetime | None = Field(None, description="Start no earlier than this (ISO 8601; UTC if no zone).")

    def new_task(self) -> NewTask:
        moment = self.schedule_for
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return NewTask(task_type=self.task_type, kb_id=self.kb_id, payload=self.payload, priority=self.priority,
                       max_retries=self.max_retries, timeout_s=self.timeout, schedule_for=moment)


class ProgressReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    progress: float = Field(description="0–100.")
    message: str | None = Field(None, max_length=2000)


def result_of(job: Job) -> dict[str, Any] | None:
    """A completed task's result: its stage's outputs (several stages: outputs by stage)."""
    if job.status != JobStatus.SUCCEEDED or not job.stages:
        return None
    if len(job.stages) == 1:
        return job.stages[0].outputs
    return {s.name: s.outputs for s in job.stages}


def task_body(view: TaskView) -> dict[str, Any]:
    job = view.job
    return {
        "id": job.id, "task_type": task_type_of(job.pipeline), "status": STATUS[job.status],
        "priority": job.priority.value, "kb_id": job.input.get("kb_id"), "payload": job.input.get("payload", {}),
        "result": result_of(job), "progress": round(job.progress), "message": job.message,
        "retry_count": sum(max(0, s.attempts - 1) for s in job.stages),
        "max_retries": int(job.options.get("max_retries", 3)),
        "error_message": job.error.message if job.error else "", "error_code": job.error.code if job.error else None,
        "worker_id": job.worker_id, "timeout": job.timeout_s, "schedule_for": iso(job.schedule_for),
        "created_at": iso(job.created_at), "updated_at": iso(job.updated_at), "started_at": iso(job.started_at),
        "completed_at": iso(job.ended_at), "estimated_completion": iso(view.estimated_completion),
        "queue_position": view.queue_position, "parent_id": job.options.get("parent_id"),
    }


def choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if value is not None and value not in allowed:
        raise ValidationFailed(f"{field} must be one of: {', '.join(allowed)}", field=field, received=value,
                               allowed=list(allowed))
    return value


@router.post("", status_code=201, summary="Create a task", response_model=None)
def create_task(body: CreateTask, request: Request) -> JSONResponse:
    # the body is JSON types already: a JSONResponse skips FastAPI's encoder pass over it
    return JSONResponse(task_body(task_services(request).tasks.create(body.new_task())), status_code=201)


@router.post("/batch", status_code=201, summary="Create several tasks: all of them, or none if one is invalid")
def create_tasks(body: list[CreateTask], request: Request) -> dict[str, Any]:
    views = task_services(request).tasks.create_batch([item.new_task() for item in body])
    return {"tasks": [task_body(v) for v in views], "count": len(views)}


@router.get("", summary="List tasks with filters, sorting and pagination")
def list_tasks(
    request: Request,
    kb_id: str | None = None,
    status: str | None = None,
    task_type: str | None = None,
    priority: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    sort_by: Annotated[str, Query(description=f"One of: {', '.join(SORTABLE)}.")] = "created_at",
    sort_order: str = "desc",
) -> dict[str, Any]:
    choice(status, WORDS, "status")
    choice(task_type, TASK_TYPES, "task_type")
    choice(priority, tuple(p.value for p in Priority), "priority")
    choice(sort_by, tuple(SORTABLE), "sort_by")
    choice(sort_order.lower(), ("asc", "desc"), "sort_order")
    views, total = task_services(request).tasks.list(
        kb_id=kb_id, statuses=[s.value for s, w in STATUS.items() if w == status] if status else [],
        pipelines=[pipeline_name(task_type)] if task_type else [], priorities=[priority] if priority else [],
        page=page, page_size=page_size, sort_by=sort_by, descending=sort_order.lower() == "desc")
    return {"tasks": [task_body(v) for v in views],
            "pagination": {"page": page, "page_size": page_size, "total": total,
                           "total_pages": math.ceil(total / page_size)}}


@router.get("/{task_id}", summary="One task", response_model=None)
def get_task(task_id: str, request: Request) -> JSONResponse:
    return JSONResponse(task_body(task_services(request).tasks.get(task_id)))


@router.delete("/{task_id}", summary="Cancel a queued or processing task")
def cancel_task(task_id: str, request: Request) -> dict[str, Any]:
    svc = task_services(request).tasks
    try:
        svc.cancel(task_id)
    except NotCancelable:
        word = STATUS[svc.task(task_id).status]
        raise NotCancelable(f"task is {word}; only queued or processing tasks can be canceled", job_id=task_id,
                            status=word) from None
    return {"message": "Task canceled successfully", "task_id": task_id}


@router.post("/{task_id}/retry", summary="Run a failed or canceled task again")
def retry_task(task_id: str, request: Request) -> dict[str, Any]:
    svc = task_services(request).tasks
    try:
        return task_body(svc.retry(task_id))
    except NotRetryable:
        word = STATUS[svc.task(task_id).status]
        raise NotRetryable(f"task is {word}; only failed or canceled tasks can be retried", job_id=task_id,
                           status=word) from None


@router.put("/{task_id}/progress", summary="Report progress of a processing task (a worker calls this)")
def report_progress(task_id: str, body: ProgressReport, request: Request) -> dict[str, Any]:
    svc = task_services(request).tasks
    try:
        return task_body(svc.report_progress(task_id, body.progress, body.message))
    except NotProcessing:
        word = STATUS[svc.task(task_id).status]
        raise NotProcessing(f"task is {word}; progress is reported while it is processing", job_id=task_id,
                            status=word) from None
