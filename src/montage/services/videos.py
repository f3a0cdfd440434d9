"""Video generation tasks: submit one (checked against the model catalog), read it, wait for it.

A task is a job of the ``video-local`` or ``video-upstream`` pipeline whose ``owner`` is a
hash of the API token that created it; any other token, like an unknown id, gets
:class:`TaskNotFound`. Uploaded pictures are checked before anything is written, then the
job is created (not started), the pictures are written to its folder, and only then is it
started, so a worker never sees a job without its pictures and a refused request leaves
nothing behind.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from montage.domain.jobs import Job, JobStatus
from montage.errors import NotFound, ServiceUnavailable, ValidationFailed
from montage.generators.builtin.video.input import PICTURE_FORMATS, check_public_url, decode_picture
from montage.pipelines.videos import BUILTIN_MODEL, FACADE, VideoJobInput, VideoModel, video_catalog
from montage.services.events import EventHub
from montage.services.jobs import JobService, SubmitJob, validation_error

#: Event kinds after which a job will not change again (until a retry).
_ENDING_EVENTS = frozenset({"done", "failed", "canceled"})
_CACHE_SIZE = 10_000
#: How old a read of a running task may be and still answer a poll (seconds; clients poll every 2–5).
FRESH_S = 1.0


class TaskNotFound(NotFound):
    """任务不存在或已过期"""

    code = "TASK_NOT_FOUND"


@functools.lru_cache(maxsize=1024)
def owner_of(token: str) -> str:
    """What a task stores about the token that created it (never the token itself): 224 bits of
    its SHA-256, to fit the 64-character owner column."""
    return "video:" + hashlib.sha256(token.encode()).hexdigest()[:56]


@dataclass(frozen=True)
class Upload:
    """An uploaded picture as it arrived."""

    field: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class VideoRequest:
    """A generation request as the facade parsed it (values not yet checked)."""

    prompt: Any
    model: Any = None
    ratio: Any = None
    resolution: Any = None
    duration: Any = None
    function_mode: Any = None
    file_paths: Sequence[Any] = ()
    uploads: Sequence[Upload] = ()


#: Upload field names that say which frame a picture is; others go first, then last, in order.
FIRST_FIELDS = ("image_file_1", "first_frame", "first_frame_image", "first")
LAST_FIELDS = ("image_file_2", "last_frame", "last_frame_image", "last")


def _choose(name: str, value: Any, allowed: Sequence[str], default: str) -> str:
    chosen = default if value in (None, "") else value
    if chosen not in allowed:
        raise ValidationFailed(f"{name} must be one of: {', '.join(allowed)}", field=name, received=value,
                               allowed=list(allowed))
    return str(chosen)


def _duration(value: Any, model: VideoModel) -> int:
    if value in (None, ""):
        return min(max(5, model.min_duration), model.max_duration)
    try:
        seconds = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        seconds = None
    if isinstance(value, bool) or seconds is None or not model.min_duration <= seconds <= model.max_duration:
        raise ValidationFailed(f"duration must be a whole number of seconds from {model.min_duration} to "
                               f"{model.max_duration} for {model.name}", field="duration", received=value,
                               allowed={"min": model.min_duration, "max": model.max_duration})
    return seconds


def _ordered_uploads(uploads: Sequence[Upload]) -> list[Upload]:
    first = [u for u in uploads if u.field in FIRST_FIELDS]
    last = [u for u in uploads if u.field in LAST_FIELDS]
    other = [u for u in uploads if u not in first and u not in last]
    return [*first, *other, *last]


@dataclass
class CheckedRequest:
    """A request that passed every check: the job input and the picture files to write."""

    model: VideoModel
    job_input: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


def check_request(request: VideoRequest, catalog: Mapping[str, VideoModel]) -> CheckedRequest:
    """Validate a request against the catalog; ``ValidationFailed`` names the field and the allowed values."""
    model = catalog.get(request.model or BUILTIN_MODEL)
    if model is None:
        raise ValidationFailed(f"model must be one of: {', '.join(catalog)}", field="model", received=request.model,
                               allowed=list(catalog))
    if not isinstance(request.prompt, str) or not request.prompt.strip():
        raise ValidationFailed("prompt must be a non-empty string", field="prompt")
    values: dict[str, Any] = {
        "model": model.name, "prompt": request.prompt,
        "ratio": _choose("ratio", request.ratio, model.ratios, "1:1" if "1:1" in model.ratios else model.ratios[0]),
        "resolution": _choose("resolution", request.resolution, model.resolutions,
                              "720p" if "720p" in model.resolutions else model.resolutions[0]),
        "duration": _duration(request.duration, model),
        "function_mode": _choose("function_mode", request.function_mode, model.function_modes, model.function_modes[0]),
    }
    checked = CheckedRequest(model, values)
    pictures = _pictures(request, checked)
    values["pictures"] = pictures
    try:
        checked.job_input = VideoJobInput.model_validate(values).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        raise validation_error(exc) from None
    return checked


def _pictures(request: VideoRequest, checked: CheckedRequest) -> list[dict[str, str]]:
    """First/last pictures: uploads (checked to be images) first, then URLs."""
    paths = [p for p in request.file_paths if p not in (None, "")]
    if len(request.uploads) + len(paths) > 2:
        raise ValidationFailed("at most 2 pictures (first and last frame), uploaded or in file_paths",
                               field="file_paths", received=len(request.uploads) + len(paths))
    pictures: list[dict[str, str]] = []
    roles = iter(("first", "last"))
    for upload in _ordered_uploads(request.uploads):
        role = next(roles)
        try:
            image = decode_picture(upload.data, f"{upload.field or 'file'} ({upload.filename or 'upload'})")
        except ValueError as exc:
            raise ValidationFailed(str(exc), field=upload.field or "file", allowed=list(PICTURE_FORMATS)) from None
        path = f"inputs/{role}{PICTURE_FORMATS[str(image.format)]}"
        checked.files[path] = upload.data
        pictures.append({"role": role, "path": path})
    for index, url in enumerate(paths):
        try:
            check_public_url(str(url))
        except ValueError as exc:
            raise ValidationFailed(f"file_paths[{index}]: {exc}", field="file_paths") from None
        pictures.append({"role": next(roles), "url": str(url)})
    return pictures


class VideoService:
    """Video tasks over the job service, for one token owner at a time."""

    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs
        self.settings = jobs.settings
        self._catalog: dict[str, VideoModel] | None = None
        self._reads: OrderedDict[str, tuple[float, Job]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, asyncio.Future[Job]] = {}

    def catalog(self) -> dict[str, VideoModel]:
        """The models on offer; ``ServiceUnavailable`` if the upstream setting is wrong."""
        if self._catalog is None:
            try:
                self._catalog = video_catalog(self.settings.video_upstream_models, self.settings.max_media_duration_s)
            except ValueError as exc:
                raise ServiceUnavailable(f"video models are misconfigured: {exc}") from None
        return self._catalog

    def submit(self, owner: str, request: VideoRequest, asset_base_url: str | None = None) -> Job:
        """Check, create, store the pictures, start; the new task's job."""
        checked = check_request(request, self.catalog())
        if asset_base_url:
            checked.job_input["asset_base_url"] = asset_base_url
        job, _ = self.jobs.submit(SubmitJob(pipeline=checked.model.pipeline, input=checked.job_input, owner=owner,
                                            facade=FACADE, start=False))
        try:
            for path, data in checked.files.items():
                self.jobs.runtime.assets.put_bytes(job.id, path, data)
        except Exception as exc:  # a full disk, or a shared store that is away
            self.jobs.cancel(job.id, "the uploaded pictures could not be stored")
            self.jobs.runtime.assets.remove_job(job.id)
            raise ServiceUnavailable("the uploaded pictures could not be stored; try again") from exc
        return self.jobs.start(job.id)

    def task(self, owner: str | None, task_id: str, *, fresh: bool = False) -> Job:
        """The task's job, if ``owner`` created it; ``TaskNotFound`` otherwise.

        Unless ``fresh``, a read less than :data:`FRESH_S` old may answer (a task polled by many
        clients costs a few database reads a second, not one per poll)."""
        job = None if fresh else self._recent(task_id)
        return self._owned(job if job is not None else self._load(task_id), owner)

    def cached(self, owner: str | None, task_id: str) -> Job | None:
        """The task from memory only (None if not there): no database, no thread."""
        job = self._recent(task_id)
        return None if job is None else self._owned(job, owner)

    @staticmethod
    def _owned(job: Job, owner: str | None) -> Job:
        """The job if it is a video task of ``owner`` (None: of anyone)."""
        if job.facade != FACADE or (owner is not None and job.owner != owner):
            raise TaskNotFound()
        return job

    def _recent(self, task_id: str) -> Job | None:
        with self._lock:
            entry = self._reads.get(task_id)
        if entry is None:
            return None
        read_at, job = entry
        if job.status == JobStatus.SUCCEEDED or time.monotonic() - read_at < FRESH_S:
            return job
        return None

    def _remember(self, job: Job) -> None:
        """Keep a read; a SUCCEEDED job never changes again, so it is kept until evicted."""
        with self._lock:
            self._reads[job.id] = (time.monotonic(), job)
            self._reads.move_to_end(job.id)
            while len(self._reads) > _CACHE_SIZE:
                self._reads.popitem(last=False)

    async def read(self, owner: str | None, task_id: str) -> Job:
        """:meth:`task` for the event loop: from memory when fresh; else one database read per task
        at a time, which every poll of that task arriving meanwhile shares."""
        cached = self.cached(owner, task_id)
        if cached is not None:
            return cached
        pending = self._loading.get(task_id)
        if pending is None:
            pending = asyncio.ensure_future(asyncio.to_thread(self._load, task_id))
            self._loading[task_id] = pending
            pending.add_done_callback(lambda _done: self._loading.pop(task_id, None))
        return self._owned(await asyncio.shield(pending), owner)

    def _load(self, task_id: str) -> Job:
        try:
            job = self.jobs.get(task_id)
        except NotFound:
            raise TaskNotFound() from None
        self._remember(job)
        return job

    def cancel(self, owner: str | None, task_id: str) -> Job:
        """Stop a task that has not ended (an upstream task is no longer followed)."""
        self.task(owner, task_id, fresh=True)
        job = self.jobs.cancel(task_id, "canceled by the client")
        self._remember(job)
        return job

    async def wait(self, hub: EventHub, owner: str | None, task_id: str, seconds: float) -> Job:
        """The task once it has ended, or as it is after ``seconds`` (capped by ``video_max_wait_s``).

        Waiting costs no database reads per waiter: the event hub tails the events table once
        per process and wakes each waiter on its task's events.
        """
        limit = max(0.0, min(float(seconds), self.settings.video_max_wait_s))
        job = await asyncio.to_thread(self.task, owner, task_id, fresh=True)
        if job.status.terminal or limit <= 0:
            return job
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        async with await hub.subscribe(task_id) as events:
            while (remaining := deadline - loop.time()) > 0:
                event = await events.next(timeout=remaining)
                if event is None or event.kind in _ENDING_EVENTS:
                    break
        return await asyncio.to_thread(self.task, owner, task_id, fresh=True)
