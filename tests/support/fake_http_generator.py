"""A local service speaking montage's generic "http" generator protocol, for tests.

Tasks (each run in its own thread, with real files):

- ``image.solid`` — ``params``: ``width``, ``height``, ``color`` ([r, g, b]), ``steps``; writes a
  PNG served at ``/files/{id}/{name}`` (``"as_path": true`` reports its filesystem path instead).
- ``fail`` — fails with ``params.code`` / ``params.message`` (and ``params.retryable``).
- ``slow`` — ``params.steps`` steps of ``params.seconds_per_step`` (default: the server's step
  delay), reporting progress; ``DELETE /jobs/{id}`` stops it between or during steps.

    with FakeHttpGenerator(tmp_path, step_delay=0.01) as service:
        client = HttpGeneratorClient(service.url)
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from tests.support.asgi_thread import BackgroundServer


class _Canceled(Exception):
    """The job saw its cancel flag."""


class _Failed(Exception):
    """A task failed with ``job.error`` already set."""


@dataclass
class FakeJob:
    id: str
    task: str
    inputs: dict[str, Any]
    params: dict[str, Any]
    status: str = "queued"
    progress: float = 0.0
    message: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def body(self) -> dict[str, Any]:
        return {"id": self.id, "task": self.task, "status": self.status, "progress": self.progress,
                "message": self.message, "outputs": self.outputs, "error": self.error}

    def pause(self, seconds: float) -> None:
        if self.cancel.wait(seconds) if seconds > 0 else self.cancel.is_set():
            raise _Canceled()


class FakeHttpGenerator:
    """The generic http generator protocol on 127.0.0.1 and a free port."""

    def __init__(self, root: Path, *, step_delay: float = 0.0) -> None:
        self.files_dir = Path(root) / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.step_delay = step_delay
        self.jobs: dict[str, FakeJob] = {}
        self._by_key: dict[str, str] = {}
        self._lock = threading.Lock()
        self._tasks: dict[str, Callable[[FakeJob], None]] = {
            "image.solid": self._image_solid, "fail": self._fail, "slow": self._slow}
        self._http = BackgroundServer(Starlette(routes=[
            Route("/health", self._health, methods=["GET"]),
            Route("/jobs", self._submit, methods=["POST"]),
            Route("/jobs/{job_id}", self._status, methods=["GET"]),
            Route("/jobs/{job_id}", self._cancel, methods=["DELETE"]),
            Route("/files/{job_id}/{name}", self._file, methods=["GET"]),
        ]))

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> FakeHttpGenerator:
        self._http.start()
        return self

    def stop(self) -> None:
        for job in list(self.jobs.values()):
            job.cancel.set()
        self._http.stop()

    def __enter__(self) -> FakeHttpGenerator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- routes ----------------------------------------------------------------------------------

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "tasks": sorted(self._tasks)})

    async def _submit(self, request: Request) -> Response:
        body = await request.json()
        task = body.get("task") if isinstance(body, dict) else None
        if task not in self._tasks:
            error = {"code": "UNKNOWN_TASK", "message": f"unknown task {task!r}",
                     "allowed": sorted(self._tasks)}
            return JSONResponse({"error": error}, status_code=400)
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            if key and key in self._by_key:
                return JSONResponse({"id": self._by_key[key]}, status_code=200)
            job = FakeJob(uuid.uuid4().hex, str(task), dict(body.get("inputs") or {}),
                          dict(body.get("params") or {}))
            self.jobs[job.id] = job
            if key:
                self._by_key[key] = job.id
        threading.Thread(target=self._run, args=(job,), daemon=True).start()
        return JSONResponse({"id": job.id}, status_code=202)

    async def _status(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": {"code": "NOT_FOUND", "message": "no such job"}}, status_code=404)
        return JSONResponse(job.body())

    async def _cancel(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": {"code": "NOT_FOUND", "message": "no such job"}}, status_code=404)
        if job.ended.is_set():
            error = {"code": "NOT_CANCELABLE", "message": f"job is already {job.status}"}
            return JSONResponse({"error": error}, status_code=409)
        job.cancel.set()
        return JSONResponse(job.body(), status_code=202)

    async def _file(self, request: Request) -> Response:
        folder = (self.files_dir / request.path_params["job_id"]).resolve()
        path = (folder / request.path_params["name"]).resolve()
        if not path.is_relative_to(self.files_dir.resolve()) or not path.is_file():
            return Response(status_code=404)
        return FileResponse(path)

    # -- tasks -----------------------------------------------------------------------------------

    def _run(self, job: FakeJob) -> None:
        try:
            job.status = "running"
            job.pause(self.step_delay)
            self._tasks[job.task](job)
            job.progress, job.status = 100.0, "succeeded"
        except _Canceled:
            job.status, job.message = "canceled", "canceled on request"
        except _Failed:
            job.status = "failed"
        except Exception as exc:
            job.error = {"code": "TASK_CRASHED", "message": str(exc)}
            job.status = "failed"
        finally:
            job.ended.set()

    def _image_solid(self, job: FakeJob) -> None:
        p = job.params
        steps = int(p.get("steps", 2))
        for step in range(1, steps + 1):
            job.pause(self.step_delay)
            job.progress, job.message = 90.0 * step / steps, f"step {step}/{steps}"
        folder = self.files_dir / job.id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "solid.png"
        size = (int(p.get("width", 32)), int(p.get("height", 32)))
        Image.new("RGB", size, tuple(p.get("color", [255, 0, 0]))).save(path)
        where = {"path": str(path)} if p.get("as_path") else {"url": f"/files/{job.id}/{path.name}"}
        job.outputs = [{**where, "name": path.name, "mime": "image/png"}]

    def _fail(self, job: FakeJob) -> None:
        p = job.params
        job.error = {"code": p.get("code", "GENERATION_FAILED"), "message": p.get("message", "it failed"),
                     "retryable": bool(p.get("retryable", False))}
        raise _Failed()

    def _slow(self, job: FakeJob) -> None:
        steps = int(job.params.get("steps", 10))
        delay = float(job.params.get("seconds_per_step", self.step_delay))
        for step in range(1, steps + 1):
            job.pause(delay)
            job.progress, job.message = 100.0 * step / (steps + 1), f"step {step}/{steps}"

