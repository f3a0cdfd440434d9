"""The web media jobs API (``shared/seeds/web-media-jobs-api.md``): ``/api/jobs…``, snake_case.

Prompt → scene, motion, music, preview, export. Core statuses and stages map to the
contract's status words in :func:`status_word`; SSE events are named ``status``, ``log``,
``asset``, ``done`` and ``failed`` with the documented ``data`` fields. Errors follow the
FastAPI shape the contract's server had: ``{"detail": …}``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from montage.api.core import iso
from montage.api.deps import services
from montage.api.errors import ErrorShape
from montage.api.sse import event_stream, last_event_id
from montage.domain.jobs import Artifact, Job, JobEvent, JobStatus
from montage.services.jobs import SubmitJob

router = APIRouter(prefix="/api/jobs", tags=["web-media"])

PIPELINE = "media"
FACADE = "media"
ROLES = ("scene", "motion", "music", "preview", "export")

#: Stage name → status word while that stage runs.
STAGE_WORD = {"plan": "PLANNING", "scene": "RUNNING_SCENE", "motion": "RUNNING_MOTION",
              "music": "RUNNING_MUSIC", "preview": "COMPOSING_PREVIEW", "export": "EXPORTING_VIDEO"}
#: Stage name → the message the contract's events show.
STAGE_MESSAGE = {"plan": "Planning", "scene": "Generating scene", "motion": "Generating motion",
                 "music": "Generating music", "preview": "Composing preview", "export": "Exporting video"}
TERMINAL_WORD = {JobStatus.SUCCEEDED: "DONE", JobStatus.FAILED: "FAILED", JobStatus.CANCELED: "CANCELED"}


def status_word(status: JobStatus, stage: str | None) -> str:
    if status in TERMINAL_WORD:
        return TERMINAL_WORD[status]
    if status in (JobStatus.CREATED, JobStatus.QUEUED) or stage is None:
        return "QUEUED" if status != JobStatus.RUNNING else "PLANNING"
    return STAGE_WORD.get(stage, "PLANNING")


def detail_body(status: int, code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's error shape: a string, or for validation errors a list naming each field."""
    errors = details.get("errors")
    if status == 422 or (status == 400 and errors):
        items = errors or [{"field": details.get("field", ""), "message": message}]
        return {"detail": [{"loc": _loc(str(e["field"])), "msg": str(e["message"]).removeprefix("Value error, "),
                            "type": code} for e in items]}
    return {"detail": message}


def _loc(field: str) -> list[str]:
    """FastAPI's ``loc``: a query, path or header field as ``["query", name]``, a body field under
    "body", and the body itself (malformed JSON, missing) as ``["body"]``."""
    parts = [p for p in field.split(".") if p]
    return parts if parts and parts[0] in _PLACES else ["body", *parts]


_PLACES = ("query", "path", "header", "cookie", "body")


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class DetailErrorBody(BaseModel):
    """FastAPI's error body: `{"detail": "..."}`, or for a bad request a list naming each field."""

    detail: list[FieldProblem] | str


#: The contract's server was FastAPI: a request it cannot parse is 422 ``{"detail": [...]}``.
ERROR_SHAPE = ErrorShape(detail_body, DetailErrorBody)


class CreateJobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(description="What to make, in words.")
    options: dict[str, Any] | None = Field(None, description="targets, duration_s, style, mood, export_video.")


def asset_item(a: Artifact) -> dict[str, Any]:
    return {"role": a.role, "path": f"/assets/{a.job_id}/{a.path}", "mime": a.mime, "bytes": a.bytes}


def job_status(job: Job, artifacts: list[Artifact]) -> dict[str, Any]:
    word = status_word(job.status, job.current_stage)
    body: dict[str, Any] = {
        "job_id": job.id, "status": word, "stage": word, "progress": round(job.progress, 2),
        "message": job.message, "created_at": iso(job.created_at), "started_at": iso(job.started_at),
        "ended_at": iso(job.ended_at), "manifest_url": f"/assets/{job.id}/manifest.json",
        "assets": [asset_item(a) for a in artifacts if a.role in ROLES],
    }
    if job.error is not None and job.status == JobStatus.FAILED:
        body["error"] = {"code": job.error.code, "detail": job.error.message}
    return body


@router.post("", summary="Create a job: {prompt, options?} → {job_id}")
def create_job(body: CreateJobRequest, request: Request) -> dict[str, str]:
    job_input = {"prompt": body.prompt, "options": body.options or {}}
    job, _ = services(request).jobs.submit(SubmitJob(pipeline=PIPELINE, input=job_input, facade=FACADE))
    return {"job_id": job.id}


@router.get("", summary="List web media jobs, newest first")
def list_jobs(request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 50,
              offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    jobs, total = services(request).jobs.list_jobs(facade=FACADE, limit=limit, offset=offset)
    return {"jobs": [job_status(j, []) for j in jobs], "total": total, "limit": limit, "offset": offset}


@router.get("/{job_id}", summary="Status, stage, progress and assets of a job")
def get_job(job_id: str, request: Request) -> dict[str, Any]:
    svc = services(request).jobs
    return job_status(svc.get(job_id), svc.artifacts(job_id))


@router.post("/{job_id}/cancel", summary="Cancel; the record stays as CANCELED")
def cancel_job(job_id: str, request: Request) -> dict[str, Any]:
    svc = services(request).jobs
    return job_status(svc.cancel(job_id), svc.artifacts(job_id))


@router.post("/{job_id}/retry", summary="Run a FAILED or CANCELED job again from where it stopped")
def retry_job(job_id: str, request: Request) -> dict[str, Any]:
    svc = services(request).jobs
    return job_status(svc.retry(job_id), svc.artifacts(job_id))


@router.get("/{job_id}/events", summary="SSE: status, log, asset, done, failed", response_class=Response)
async def job_events(job_id: str, request: Request) -> Response:
    svc = services(request)
    await asyncio.to_thread(svc.jobs.get, job_id)

    def ended() -> bool:
        return svc.jobs.get(job_id).status.terminal

    return event_stream(svc.hub, job_id, last_event_id(request), media_event, ended, request)


def media_event(e: JobEvent) -> tuple[str, dict[str, Any]] | None:
    """A core event as the contract's event, or None for ones it has no word for."""
    formatter = _FORMATS.get(e.kind)
    return formatter(e) if formatter else None


def _data(e: JobEvent, stage: str, message: str, payload: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"job_id": e.job_id, "ts": iso(e.created_at), "stage": stage}
    if e.progress is not None:  # optional, and a number when present (log lines carry none)
        data["progress"] = round(e.progress, 2)
    return {**data, "message": message, "payload": payload}


def _stage_started(e: JobEvent) -> tuple[str, dict[str, Any]] | None:
    if e.payload.get("state") != "started" or e.stage is None:
        return None
    return "status", _data(e, STAGE_WORD.get(e.stage, "PLANNING"), STAGE_MESSAGE.get(e.stage, e.message), {})


def _status(e: JobEvent) -> tuple[str, dict[str, Any]]:
    word = status_word(JobStatus(e.status), e.stage) if e.status else "QUEUED"
    return "status", _data(e, word, e.message, {})


def _progress(e: JobEvent) -> tuple[str, dict[str, Any]] | None:
    if float(e.payload.get("stage_percent", 0)) >= 100:
        return None  # a stage's end is told by its asset and the next status, as the contract shows
    return "status", _data(e, STAGE_WORD.get(e.stage or "", "PLANNING"), e.message, {})


def _log(e: JobEvent) -> tuple[str, dict[str, Any]]:
    payload = {"level": e.payload.get("level", "info"), "text": e.payload.get("text", e.message)}
    return "log", _data(e, STAGE_WORD.get(e.stage or "", "PLANNING"), e.message, payload)


def _asset(e: JobEvent) -> tuple[str, dict[str, Any]] | None:
    if e.payload.get("role") not in ROLES:
        return None
    payload: dict[str, Any] = {k: e.payload[k] for k in ("role", "path", "mime") if k in e.payload}
    return "asset", _data(e, STAGE_WORD.get(e.stage or "", "PLANNING"), e.message, payload)


def _done(e: JobEvent) -> tuple[str, dict[str, Any]]:
    return "done", _data(e, "DONE", "done", {"manifest_url": f"/assets/{e.job_id}/manifest.json"})


def _failed(e: JobEvent) -> tuple[str, dict[str, Any]]:
    payload = {"code": e.payload.get("code", "E_FAILED"), "detail": e.payload.get("detail", e.message)}
    return "failed", _data(e, STAGE_WORD.get(e.stage or "", "FAILED"), e.message, payload)


def _canceled(e: JobEvent) -> tuple[str, dict[str, Any]]:
    return "status", _data(e, "CANCELED", e.message or "canceled", {})


_FORMATS: dict[str, Any] = {"stage": _stage_started, "status": _status, "progress": _progress, "log": _log,
                            "asset": _asset, "done": _done, "failed": _failed, "canceled": _canceled}
