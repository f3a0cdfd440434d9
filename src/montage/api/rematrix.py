"""The Rematrix Jobs API (``shared/seeds/rematrix-jobs-api.md``): ``/jobs…``, camelCase.

A job is created PENDING and starts on ``/run``; gates at PLAN, NARRATION and PAGES.
Core statuses map to the contract's words in :data:`STATUS`; errors use the contract's
``{"error": {"code", "message", "details"}}`` with its own messages.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from montage.api.core import iso
from montage.api.deps import services
from montage.api.errors import CoreErrorBody, ErrorShape, core_body
from montage.api.sse import event_stream, last_event_id
from montage.domain.jobs import Artifact, Job, JobEvent, JobStatus
from montage.errors import Conflict, IllegalTransition, NotWaitingApproval, ValidationFailed, WrongStage
from montage.services.jobs import SubmitJob

router = APIRouter(tags=["rematrix"])

PIPELINE = "doc-video"
FACADE = "rematrix"
GATES = ["PLAN", "NARRATION", "PAGES"]

#: Core status → the contract's status word (CANCELED has none: it reads as FAILED).
STATUS = {
    JobStatus.CREATED: "PENDING", JobStatus.QUEUED: "RUNNING", JobStatus.RUNNING: "RUNNING",
    JobStatus.WAITING_APPROVAL: "WAITING_APPROVAL", JobStatus.SUCCEEDED: "COMPLETED",
    JobStatus.FAILED: "FAILED", JobStatus.CANCELED: "FAILED",
}


#: The core's error body; a body the framework cannot parse is 400, as the contract's NestJS server answered.
ERROR_SHAPE = ErrorShape(core_body, CoreErrorBody, validation_status=400)


class CreateJobDto(BaseModel):
    model_config = ConfigDict(extra="ignore")
    content: str = Field(description="Markdown to turn into a video.")
    style: str | None = Field(None, description="Visual style, e.g. \"Google 风格\".")
    language: str | None = Field(None, description="Narration language, e.g. zh-CN or en-US.")


class ApproveDto(BaseModel):
    stage: str
    comment: str | None = None


class RejectDto(BaseModel):
    stage: str
    reason: str
    comment: str | None = None


def current_stage(job: Job) -> str:
    if job.status == JobStatus.SUCCEEDED:
        return "DONE"
    if job.current_stage:
        return job.current_stage
    pending = [s.name for s in job.stages if s.status.value != "SUCCEEDED"]
    return pending[0] if pending else "PLAN"


def error_text(job: Job) -> str | None:
    if job.error is None:
        return None
    return "Job canceled" if job.status == JobStatus.CANCELED else job.error.message


def summary(job: Job) -> dict[str, Any]:
    return {"id": job.id, "status": STATUS[job.status], "currentStage": current_stage(job),
            "createdAt": iso(job.created_at), "updatedAt": iso(job.updated_at)}


def artifact_json(a: Artifact) -> dict[str, Any]:
    return {"stage": a.stage, "type": a.role, "path": a.path, "url": f"/assets/{a.job_id}/{a.path}",
            "mimeType": a.mime, "size": a.bytes, "sha256": a.sha256, "createdAt": iso(a.created_at)}


def detail(job: Job, artifacts: list[Artifact]) -> dict[str, Any]:
    config = {k: job.input.get(k) for k in ("content", "style", "language")}
    return {**summary(job), "config": config, "completedAt": iso(job.ended_at if job.status.terminal else None),
            "error": error_text(job), "workflowId": job.workflow_id, "progress": round(job.progress, 2),
            "artifacts": [artifact_json(a) for a in artifacts]}


def check_stage(stage: str) -> None:
    if stage not in GATES:
        raise ValidationFailed(f"stage must be one of: {', '.join(GATES)}", received=stage, allowed=GATES,
                               code="INVALID_STAGE")


@router.get("/jobs", summary="List Rematrix jobs (newest first; ?limit=&offset=)")
def list_jobs(request: Request, response: Response, limit: Annotated[int, Query(ge=1, le=500)] = 100,
              offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    jobs, total = services(request).jobs.list_jobs(facade=FACADE, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return {"jobs": [summary(j) for j in jobs]}


@router.post("/jobs", status_code=201, summary="Create a job (PENDING until /run)")
def create_job(body: CreateJobDto, request: Request) -> dict[str, Any]:
    try:
        job, _ = services(request).jobs.submit(SubmitJob(
            pipeline=PIPELINE, input=body.model_dump(), facade=FACADE, start=False,
            timeout_s=services(request).runtime.settings.default_timeout_s,
        ))
    except ValidationFailed as exc:
        raise body_field_error(exc) from None
    return {"jobId": job.id}


def body_field_error(exc: ValidationFailed) -> ValidationFailed:
    """The core names the job's input ``input.content``; this contract's body has ``content`` at
    its top, and its messages carry no pydantic "Value error, " prefix."""
    errors = [{"field": str(e["field"]).removeprefix("input."), "message": str(e["message"]).removeprefix(
        "Value error, ")} for e in exc.details.get("errors", [])]
    field = str(exc.details.get("field", "")).removeprefix("input.")
    message = errors[0]["message"] if errors else exc.message
    return ValidationFailed(f"{field}: {message}" if field else message, code=exc.code,
                            **{**exc.details, "field": field, "errors": errors})


@router.get("/jobs/{job_id}", summary="One job with its config and artifacts")
def get_job(job_id: str, request: Request) -> dict[str, Any]:
    svc = services(request).jobs
    return detail(svc.get(job_id), svc.artifacts(job_id))


@router.post("/jobs/{job_id}/run", summary="Start a PENDING job's workflow")
def run_job(job_id: str, request: Request) -> dict[str, Any]:
    try:
        job = services(request).jobs.start(job_id)
    except IllegalTransition:
        raise Conflict("Job is not in PENDING status", status=_status(request, job_id)) from None
    return {"success": True, "workflowId": job.workflow_id, "message": "任务已启动"}


@router.post("/jobs/{job_id}/approve", summary="Approve the stage under review")
def approve_job(job_id: str, body: ApproveDto, request: Request) -> dict[str, Any]:
    check_stage(body.stage)
    _decide(request, job_id, lambda svc: svc.approve(job_id, body.stage, body.comment))
    return {"success": True, "message": "阶段已批准，工作流将继续执行"}


@router.post("/jobs/{job_id}/reject", summary="Reject the stage under review; it is generated again")
def reject_job(job_id: str, body: RejectDto, request: Request) -> dict[str, Any]:
    check_stage(body.stage)
    if not body.reason.strip():
        raise ValidationFailed("reason must not be empty", field="reason")
    _decide(request, job_id, lambda svc: svc.reject(job_id, body.stage, body.reason, body.comment))
    return {"success": True, "message": "阶段已拒绝，将重新生成"}


@router.post("/jobs/{job_id}/retry", summary="FAILED → PENDING; /run starts it again from the failed stage")
def retry_job(job_id: str, request: Request) -> dict[str, Any]:
    try:
        job = services(request).jobs.retry(job_id, start=False)
    except Conflict:
        raise Conflict("Job is not in FAILED status", status=_status(request, job_id)) from None
    return {"success": True, "status": STATUS[job.status], "message": "任务已重置，可重新启动"}


@router.post("/jobs/{job_id}/cancel", summary="Cancel a job that has not finished")
def cancel_job(job_id: str, request: Request) -> dict[str, Any]:
    try:
        services(request).jobs.cancel(job_id)
    except Conflict:
        raise Conflict("Job has already finished", status=_status(request, job_id)) from None
    return {"success": True, "message": "任务已取消"}


@router.get("/jobs/{job_id}/artifacts", summary="The job's artifacts")
def job_artifacts(job_id: str, request: Request) -> dict[str, Any]:
    return {"artifacts": [artifact_json(a) for a in services(request).jobs.artifacts(job_id)]}


@router.get("/jobs/{job_id}/events", summary="SSE: status, stage, progress, log, artifact and approval events",
            response_class=Response)
async def job_events(job_id: str, request: Request) -> Response:
    svc = services(request)
    await asyncio.to_thread(svc.jobs.get, job_id)

    def ended() -> bool:
        return svc.jobs.get(job_id).status.terminal

    return event_stream(svc.hub, job_id, last_event_id(request), _event, ended, request)


def _event(e: JobEvent) -> tuple[str, dict[str, Any]]:
    status = STATUS.get(JobStatus(e.status)) if e.status else None
    return e.kind, {"jobId": e.job_id, "status": status, "currentStage": e.stage, "progress": e.progress,
                    "message": e.message, "payload": e.payload, "ts": iso(e.created_at)}


def _status(request: Request, job_id: str) -> str:
    return STATUS[services(request).jobs.get(job_id).status]


def _decide(request: Request, job_id: str, call: Any) -> None:
    svc = services(request).jobs
    try:
        call(svc)
    except NotWaitingApproval:
        raise Conflict("Job is not in WAITING_APPROVAL status", status=_status(request, job_id)) from None
    except WrongStage as exc:
        raise ValidationFailed(f"Job is waiting for approval of {exc.details.get('expected')}",
                               received=exc.details.get("received"), expected=exc.details.get("expected"),
                               code="STAGE_MISMATCH") from None
