"""The async video generation API (``shared/seeds/async-video-api-plan.md``): ``/v1/videos/…``.

``POST /v1/videos/generations`` answers at once with ``{created, task_id, status: "pending"}``
(or, with ``wait``, blocks up to that many seconds for the result); ``GET
/v1/videos/tasks/{task_id}`` reads the task; ``POST /v1/videos/tasks/{task_id}/cancel`` stops it
(the contract has no cancel; this one answers like a read, with status ``failed``).

Core statuses map to the contract's words in :data:`STATUS`. Errors are ``{"error": message}``
(400s add ``field`` and ``allowed``); an unknown task — or another token's — is 404
``{"error": "任务不存在或已过期"}``.

The contract's ``Authorization: Bearer <token>`` is a montage API key (``docs/auth.md``): a task
belongs to the key that created it, and an admin key sees every task. In the open dev mode (no
keys configured, loopback address) no token is needed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from montage.api.deps import services
from montage.api.errors import ErrorShape, malformed_json_message
from montage.domain import access
from montage.domain.jobs import Job, JobStatus
from montage.errors import NotCancelable, ValidationFailed
from montage.generators.builtin.video.input import MAX_PICTURE_BYTES
from montage.pipelines.videos import FAIL_PREFIX, NOTICE, video_path, work_progress
from montage.services.asset_links import AssetLinks
from montage.services.videos import TaskNotFound, Upload, VideoRequest, VideoService

router = APIRouter(prefix="/v1/videos", tags=["videos"])

#: Core status → the contract's status word.
STATUS = {
    JobStatus.CREATED: "pending", JobStatus.QUEUED: "pending", JobStatus.RUNNING: "processing",
    JobStatus.WAITING_APPROVAL: "processing", JobStatus.SUCCEEDED: "completed", JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "failed",
}
NOT_FOUND = TaskNotFound.__doc__ or "任务不存在或已过期"
#: The seed's words for a missing or wrong token (the bearer token is a montage API key).
AUTH_WORDS = {"MISSING_API_KEY": "未提供认证令牌", "INVALID_API_KEY": "认证令牌无效"}
WaitQuery = Annotated[str | None, Query(description="Block up to this many seconds for the result (true: the cap).")]


class VideoErrorBody(BaseModel):
    """The contract's error body; a bad request also names its `field` and the `allowed` values."""

    error: str
    field: str | None = None
    allowed: list[Any] | dict[str, Any] | None = None


def error_body(status: int, code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    """The contract's error shape: ``{"error": message}``; validation errors name the field and allowed values."""
    if status == 404:
        return {"error": NOT_FOUND}
    if code in AUTH_WORDS:
        return {"error": AUTH_WORDS[code]}
    body: dict[str, Any] = {"error": message}
    if status in (400, 422):
        body.update({k: details[k] for k in ("field", "allowed") if details.get(k) not in (None, "")})
    return body


#: Bad requests are 400, as the contract's Koa server answered them.
ERROR_SHAPE = ErrorShape(error_body, VideoErrorBody, validation_status=400)


def video_service(request: Request) -> VideoService:
    app = request.app
    if getattr(app.state, "videos", None) is None:
        app.state.videos = VideoService(services(request).jobs)
    svc: VideoService = app.state.videos
    return svc


def authorize(request: Request) -> tuple[str, str | None]:
    """(the owner a new task gets, the owner a task must have to be seen — None: any).

    The bearer key was checked by ``api/auth.py``: tasks belong to that key; an admin key (and
    the open dev mode) sees every task."""
    principal = access.current() or access.ANONYMOUS
    owner = f"video:{principal.key_id or 'anonymous'}"
    return owner, (None if principal.sees_all else owner)


def signer(request: Request) -> AssetLinks | None:
    """The asset link signer when the caller holds a key (result URLs must work without one)."""
    principal = access.current()
    gate = getattr(request.app.state, "gate", None)
    return gate.links if gate is not None and principal is not None and principal.key_id else None


def base_url(request: Request) -> str:
    configured = services(request).runtime.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def task_body(job: Job, base: str, links: AssetLinks | None = None) -> dict[str, Any]:
    """A task as the contract shows it: fields by status, as the seed documents them. With
    ``links`` (API keys on) the result URL is a signed, expiring link that needs no header."""
    status = STATUS[job.status]
    body: dict[str, Any] = {"task_id": job.id, "status": status}
    if status == "pending":
        body["progress"] = 0
    elif status == "processing":
        body["progress"] = round(work_progress(job))  # the stage's share of the job's progress: 89.99… is 90
        if job.message.startswith(NOTICE):
            body["error"] = job.message[len(NOTICE):]
    elif status == "completed":
        file = str(video_path(job))
        path = links.sign(job.id, file)[0] if links else f"/assets/{job.id}/{file}"
        body.update(progress=100, result={"url": base + path})
    else:
        body.update(_failure(job))
    return body


def _failure(job: Job) -> dict[str, Any]:
    if job.status == JobStatus.CANCELED or job.error is None:
        return {"error": "任务已取消", "error_code": "CANCELED"}
    code = job.error.code
    return {"error": job.error.message, "error_code": code[len(FAIL_PREFIX):] if code.startswith(FAIL_PREFIX) else code}


async def _read_body(request: Request) -> tuple[dict[str, Any], list[Upload]]:
    """The request's fields and uploads, from JSON or multipart/form-data."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        return await _read_form(request)
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise ValidationFailed(malformed_json_message(exc.msg, exc.doc, exc.pos), field="body") from None
    except ValueError:  # not UTF-8 text
        raise ValidationFailed("the body must be JSON or multipart/form-data", field="body") from None
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", field="body")
    return body, []


async def _read_form(request: Request) -> tuple[dict[str, Any], list[Upload]]:
    form = await request.form(max_files=4, max_fields=50, max_part_size=64 * 1024)
    fields: dict[str, Any] = {}
    uploads: list[Upload] = []
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read(MAX_PICTURE_BYTES + 1)
                uploads.append(Upload(name, value.filename or "", data))
            elif name in ("file_paths", "filePaths", "file_paths[]"):
                fields.setdefault("file_paths", []).extend(_paths(value))
            else:
                fields[name] = value
    finally:
        await form.close()
    return fields, uploads


def _paths(value: str) -> list[str]:
    """A form's file_paths: one URL per field, or a JSON list."""
    if value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValidationFailed("file_paths must be URLs or a JSON list of URLs", field="file_paths") from None
        return [str(p) for p in parsed] if isinstance(parsed, list) else [str(parsed)]
    return [value]


def video_request(body: dict[str, Any], uploads: list[Upload]) -> VideoRequest:
    paths = body.get("file_paths") or body.get("filePaths") or []
    if not isinstance(paths, list):
        raise ValidationFailed("file_paths must be a list of URLs", field="file_paths")
    return VideoRequest(prompt=body.get("prompt"), model=body.get("model"), ratio=body.get("ratio"),
                        resolution=body.get("resolution"), duration=body.get("duration"),
                        function_mode=body.get("function_mode", body.get("functionMode")), file_paths=paths,
                        uploads=uploads)


def _wait_seconds(body: dict[str, Any], query: str | None) -> float:
    """``wait`` from the body or else the query: seconds, or true (the cap) / false."""
    value = body.get("wait", query)
    if isinstance(value, str):
        value = value.strip().lower()
    if value in (None, False, "", "false", "0"):
        return 0.0
    if value in (True, "true"):
        return float("inf")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed("wait must be true, false or a number of seconds", field="wait") from None
    if seconds < 0:
        raise ValidationFailed("wait must not be negative", field="wait")
    return seconds


@router.post("/generations", summary="Submit a video generation; answers at once with a task id")
async def create_generation(request: Request, wait: WaitQuery = None) -> dict[str, Any]:
    owner, _ = authorize(request)
    body, uploads = await _read_body(request)
    seconds = _wait_seconds(body, wait)
    svc = video_service(request)
    job = await run_in_threadpool(svc.submit, owner, video_request(body, uploads), base_url(request))
    created = int(job.created_at.timestamp())
    if seconds <= 0:
        return {"created": created, "task_id": job.id, "status": STATUS[job.status]}
    job = await svc.wait(services(request).hub, None, job.id, seconds)
    answer = {"created": created, **task_body(job, base_url(request), signer(request))}
    if answer["status"] == "completed":  # the old blocking answer's shape, for old clients
        answer["data"] = [{"url": answer["result"]["url"], "revised_prompt": job.input.get("prompt")}]
    return answer


@router.get("/tasks/{task_id}", summary="A task's status, progress, and result URL once completed",
            response_model=None)
async def get_task(task_id: str, request: Request, wait: WaitQuery = None) -> dict[str, Any] | JSONResponse:
    _, owner = authorize(request)
    svc = video_service(request)
    seconds = _wait_seconds({}, wait)
    if seconds > 0:
        job = await svc.wait(services(request).hub, owner, task_id, seconds)
        return task_body(job, base_url(request), signer(request))
    job = await svc.read(owner, task_id)
    return JSONResponse(task_body(job, base_url(request), signer(request)))  # plain JSON: no encoder pass over the body


@router.post("/tasks/{task_id}/cancel", summary="Stop a task that has not ended (409 if it has)")
async def cancel_task(task_id: str, request: Request) -> dict[str, Any]:
    _, owner = authorize(request)
    svc = video_service(request)
    try:
        job = await run_in_threadpool(svc.cancel, owner, task_id)
    except NotCancelable:
        ended = await run_in_threadpool(svc.task, owner, task_id, fresh=True)
        raise NotCancelable(f"the task has ended ({STATUS[ended.status]}); only a pending or processing task can "
                            "be canceled", task_id=task_id, status=STATUS[ended.status]) from None
    return task_body(job, base_url(request), signer(request))
