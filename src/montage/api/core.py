"""The core API, ``/api/v1/jobs…``: montage's own contract that the CLI speaks."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from montage.api.deps import services
from montage.api.sse import event_stream, last_event_id
from montage.domain.jobs import Approval, Artifact, Job, JobEvent, JobStatus
from montage.domain.webhooks import Delivery
from montage.errors import ValidationFailed
from montage.services.jobs import SubmitJob
from montage.services.webhooks import WebhookService

router = APIRouter(prefix="/api/v1", tags=["core"])


class SubmitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pipeline: str = Field(description="Pipeline name; GET /api/v1/pipelines lists them.")
    input: dict[str, Any] = Field(default_factory=dict, description="The pipeline's input.")
    options: dict[str, Any] = Field(default_factory=dict, description="Free-form options kept with the job.")
    priority: Literal["low", "normal", "high", "critical"] = "normal"
    schedule_for: AwareDatetime | None = Field(None, description="Start no earlier than this (ISO 8601, with zone).")
    timeout_s: float | None = Field(None, gt=0, le=2_592_000, description="Fail with TIMEOUT after this.")
    start: bool = Field(True, description="False: create the job but leave it CREATED until /start.")
    queue: str | None = Field(None, description="Queue to run on (default: the pipeline's); see settings.")
    webhook_url: str | None = Field(None, max_length=2000, description="POST the job's events here, signed per "
                                    "Standard Webhooks (docs/auth.md#webhooks).")
    webhook_events: list[WebhookEvent] | None = Field(None, description="Which events to send; default: all.")


WebhookEvent = Literal["start", "stage", "asset", "approval", "completed", "failed"]


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: str = Field(min_length=1)
    comment: str | None = Field(None, max_length=10_000)


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: str = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=10_000)
    comment: str | None = Field(None, max_length=10_000)


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def job_body(job: Job, artifacts: list[Artifact] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": job.id, "pipeline": job.pipeline, "pipeline_version": job.pipeline_version,
        "status": job.status.value, "stage": job.current_stage, "progress": round(job.progress, 2),
        "message": job.message, "priority": job.priority.value, "queue": job.queue, "attempts": job.attempts,
        "input": job.input, "options": job.options, "timeout_s": job.timeout_s,
        "schedule_for": iso(job.schedule_for), "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at), "started_at": iso(job.started_at), "ended_at": iso(job.ended_at),
        "worker_id": job.worker_id,
        "error": ({"code": job.error.code, "message": job.error.message, "details": job.error.details}
                  if job.error else None),
        "stages": [
            {"name": s.name, "generator": s.generator, "status": s.status.value, "approval": s.approval,
             "attempts": s.attempts, "revision": s.revision, "started_at": iso(s.started_at),
             "ended_at": iso(s.ended_at),
             "error": {"code": s.error.code, "message": s.error.message} if s.error else None}
            for s in job.stages
        ],
        "manifest_url": f"/assets/{job.id}/manifest.json",
    }
    if artifacts is not None:
        body["artifacts"] = [artifact_body(a) for a in artifacts]
    return body


def artifact_body(a: Artifact) -> dict[str, Any]:
    return {"stage": a.stage, "role": a.role, "path": a.path, "url": f"/assets/{a.job_id}/{a.path}",
            "mime": a.mime, "bytes": a.bytes, "sha256": a.sha256, "created_at": iso(a.created_at)}


def approval_body(a: Approval) -> dict[str, Any]:
    return {"id": a.id, "stage": a.stage, "decision": a.decision, "reason": a.reason, "comment": a.comment,
            "created_at": iso(a.created_at)}


def event_body(e: JobEvent) -> dict[str, Any]:
    return {"id": e.id, "job_id": e.job_id, "kind": e.kind, "stage": e.stage, "status": e.status,
            "progress": e.progress, "message": e.message, "payload": e.payload, "ts": iso(e.created_at)}


@router.post("/jobs", status_code=201, summary="Submit a job")
def submit_job(
    body: SubmitRequest, request: Request, response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> dict[str, Any]:
    job, created = services(request).jobs.submit(SubmitJob(
        pipeline=body.pipeline, input=body.input, options=body.options, priority=body.priority,
        schedule_for=body.schedule_for, timeout_s=body.timeout_s, idempotency_key=idempotency_key,
        start=body.start, queue=body.queue, webhook_url=body.webhook_url,
        webhook_events=tuple(body.webhook_events) if body.webhook_events else None,
    ))
    if not created:
        response.status_code = 200
    return job_body(job)


@router.get("/jobs", summary="List jobs, newest first")
def list_jobs(
    request: Request,
    status: Annotated[list[str] | None, Query(description="Filter by status (repeatable).")] = None,
    pipeline: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    allowed = [s.value for s in JobStatus]
    for value in status or []:
        if value not in allowed:
            raise ValidationFailed(f"status must be one of: {', '.join(allowed)}", field="status",
                                   received=value, allowed=allowed)
    jobs, total = services(request).jobs.list_jobs(statuses=status, pipeline=pipeline, limit=limit, offset=offset)
    return {"jobs": [job_body(j) for j in jobs], "total": total, "limit": limit, "offset": offset}


@router.get("/jobs/{job_id}", summary="One job with its stages", response_model=None)
def get_job(job_id: str, request: Request) -> JSONResponse:
    return JSONResponse(job_body(*services(request).jobs.get_with_artifacts(job_id)))  # no encoder pass


@router.get("/jobs/{job_id}/artifacts", summary="Files the job produced")
def job_artifacts(job_id: str, request: Request) -> dict[str, Any]:
    return {"artifacts": [artifact_body(a) for a in services(request).jobs.artifacts(job_id)]}


@router.get("/jobs/{job_id}/approvals", summary="Every approve and reject decision")
def job_approvals(job_id: str, request: Request) -> dict[str, Any]:
    return {"approvals": [approval_body(a) for a in services(request).jobs.approvals(job_id)]}


@router.get("/jobs/{job_id}/events", summary="Server-sent events: replay after Last-Event-ID, then live",
            response_class=Response)
async def job_events(job_id: str, request: Request, last_event_id_q: Annotated[
        str | None, Query(alias="last_event_id")] = None) -> Response:
    svc = services(request)
    await asyncio.to_thread(svc.jobs.get, job_id)  # 404 before the stream starts

    def ended() -> bool:
        return svc.jobs.get(job_id).status.terminal

    return event_stream(svc.hub, job_id, last_event_id(request, last_event_id_q), core_event, ended, request)


def core_event(e: JobEvent) -> tuple[str, dict[str, Any]]:
    """A core event as SSE: named by its kind (a module-level function, so every stream shares its frames)."""
    return e.kind, event_body(e)


@router.post("/jobs/{job_id}/start", summary="Start a job created with start=false")
def start_job(job_id: str, request: Request) -> dict[str, Any]:
    return job_body(services(request).jobs.start(job_id))


@router.post("/jobs/{job_id}/approve", summary="Approve the stage the job waits on")
def approve_job(job_id: str, body: ApproveRequest, request: Request) -> dict[str, Any]:
    return job_body(services(request).jobs.approve(job_id, body.stage, body.comment))


@router.post("/jobs/{job_id}/reject", summary="Reject the stage; it runs again with the reason as feedback")
def reject_job(job_id: str, body: RejectRequest, request: Request) -> dict[str, Any]:
    return job_body(services(request).jobs.reject(job_id, body.stage, body.reason, body.comment))


@router.post("/jobs/{job_id}/cancel", summary="Cancel a job that has not ended")
def cancel_job(job_id: str, request: Request) -> dict[str, Any]:
    return job_body(services(request).jobs.cancel(job_id))


@router.post("/jobs/{job_id}/retry", summary="Run a FAILED or CANCELED job again from the stage that stopped")
def retry_job(job_id: str, request: Request) -> dict[str, Any]:
    return job_body(services(request).jobs.retry(job_id))


@router.get("/jobs/{job_id}/webhooks", summary="The job's webhook and every delivery with its last answer")
def job_webhooks(job_id: str, request: Request) -> dict[str, Any]:
    hook, deliveries = WebhookService(services(request).runtime).of_job(job_id)
    return {"webhook": {"url": hook.url, "events": list(hook.events)} if hook else None,
            "deliveries": [delivery_body(d) for d in deliveries]}


def delivery_body(d: Delivery) -> dict[str, Any]:
    return {"id": d.id, "event_id": d.event_id, "type": d.event_type, "status": d.status.value,
            "attempts": d.attempts, "response_status": d.response_status, "response_body": d.response_body,
            "error": d.error, "created_at": iso(d.created_at), "updated_at": iso(d.updated_at),
            "delivered_at": iso(d.delivered_at)}


@router.get("/pipelines", summary="Pipelines jobs can run")
def list_pipelines(request: Request) -> dict[str, Any]:
    return {"pipelines": [p.describe() for p in services(request).jobs.pipelines()]}
