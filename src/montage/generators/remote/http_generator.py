"""A client for montage's generic "http" generator protocol: submit a task, poll it, fetch files.

The protocol (also in ``docs/protocols/http-generator.md``) lets any service that can make
media serve as a montage stage with four routes, JSON bodies, and files served by URL:

``GET /health``
    ``200 {"status": "ok"}`` when the service takes work (it may add ``"tasks": [names]``).
``POST /jobs``  ``{"task": str, "inputs": {...}, "params": {...}}``
    ``202 {"id": str}`` (``200``/``201`` are accepted too). An ``Idempotency-Key`` header, when
    sent, makes a repeated submit return the first job instead of starting another. A request
    the service cannot take is ``4xx {"error": {"code", "message"}}``; ``429``/``503`` mean busy.
``GET /jobs/{id}``
    ``200 {"id", "status", "progress", "message", "outputs", "error"}``: ``status`` is one of
    ``queued``, ``running``, ``succeeded``, ``failed``, ``canceled``; ``progress`` is 0–100;
    ``outputs`` (when succeeded) is a list of ``{"url" | "path", "name", "mime"}``; ``error``
    (when failed) is ``{"code", "message"}`` plus an optional ``"retryable": bool``. Unknown id:
    ``404``.
``DELETE /jobs/{id}``
    Asks the job to stop: ``202`` (or ``200``) with the job; it reaches ``canceled`` once it has
    stopped. ``409`` if the job has already ended; ``404`` for an unknown id.

An output ``url`` is absolute or relative to the service's base URL; montage fetches it with a
plain ``GET`` (sending its configured headers only to the service's own origin). An output
``path`` is a file on a filesystem montage shares with the service; montage copies it only when
the client was given ``local_root`` and the path lies inside it.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from montage.errors import GeneratorError, JobCanceled

from ._http import (
    Backoff,
    CancelCheck,
    ProgressCallback,
    TransientErrors,
    cancel_reason,
    download,
    json_body,
    make_client,
    safe_filename,
    send,
    unexpected_status,
    unique_path,
    wait_unless_cancelled,
)

log = logging.getLogger(__name__)
PREFIX = "HTTP_GENERATOR"
STATUSES = ("queued", "running", "succeeded", "failed", "canceled")
TERMINAL = frozenset({"succeeded", "failed", "canceled"})


@dataclass(frozen=True)
class RemoteJob:
    """A job as the service reports it."""

    id: str
    status: str
    progress: float = 0.0
    message: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def from_body(cls, body: Any) -> RemoteJob:
        """Read ``GET /jobs/{id}``'s body; a malformed one is ``HTTP_GENERATOR_BAD_RESPONSE``."""
        if not isinstance(body, Mapping) or body.get("status") not in STATUSES or "id" not in body:
            raise GeneratorError(
                f"job status must have an id and a status in {', '.join(STATUSES)}; got {str(body)[:300]}",
                code=f"{PREFIX}_BAD_RESPONSE", retryable=False, allowed=list(STATUSES),
            )
        outputs = [dict(o) for o in body.get("outputs") or [] if isinstance(o, Mapping)]
        error = body.get("error")
        return cls(
            id=str(body["id"]), status=body["status"], progress=float(body.get("progress") or 0.0),
            message=str(body.get("message") or ""), outputs=outputs,
            error=dict(error) if isinstance(error, Mapping) else None,
        )


@dataclass(frozen=True)
class HttpGeneratorRun:
    """A finished job: the service's last report and the files downloaded from it."""

    job: RemoteJob
    files: list[Path]


class HttpGeneratorClient:
    """One service speaking the generic http generator protocol."""

    def __init__(
        self, base_url: str, *, timeout: float = 30.0, connect_timeout: float = 5.0,
        poll_interval: float = 0.05, max_poll_interval: float = 2.0, cancel_wait: float = 10.0,
        poll_retries: int = 5, headers: dict[str, str] | None = None, local_root: str | Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.poll_interval, self.max_poll_interval = poll_interval, max_poll_interval
        self.cancel_wait = cancel_wait
        #: Consecutive unreachable/timeout/5xx answers a wait rides out before giving up.
        self.poll_retries = poll_retries
        self.local_root = Path(local_root).resolve() if local_root is not None else None
        self._timeouts = (timeout, connect_timeout)
        self._transport = transport
        self._http = make_client(self.base_url, timeout, connect_timeout, transport, headers)

    def health(self) -> dict[str, Any]:
        """``GET /health``; ``HTTP_GENERATOR_UNHEALTHY`` unless it answers ``{"status": "ok"}``."""
        response = send(self._http, PREFIX, "GET", "/health")
        body = json_body(PREFIX, response) if response.status_code == 200 else None
        if not isinstance(body, Mapping) or body.get("status") != "ok":
            raise GeneratorError(
                f"{self.base_url} is not healthy: {response.status_code} {response.text[:200]}",
                code=f"{PREFIX}_UNHEALTHY",
            )
        return dict(body)

    def submit(self, task: str, inputs: Mapping[str, Any] | None = None,
               params: Mapping[str, Any] | None = None, *, idempotency_key: str | None = None) -> str:
        """``POST /jobs``; the new (or, for a repeated idempotency key, the first) job's id."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        payload = {"task": task, "inputs": dict(inputs or {}), "params": dict(params or {})}
        response = send(self._http, PREFIX, "POST", "/jobs", json=payload, headers=headers)
        if response.status_code in (429, 503):
            raise GeneratorError(f"{self.base_url} is busy", code=f"{PREFIX}_BUSY",
                                 retry_after=response.headers.get("Retry-After"))
        if 400 <= response.status_code < 500:
            raise _remote_error(f"{PREFIX}_REJECTED", f"{self.base_url} refused task {task!r}",
                                _lenient_json(response), retryable=False, status=response.status_code)
        body = json_body(PREFIX, response)
        if response.status_code not in (200, 201, 202) or not isinstance(body, Mapping) or "id" not in body:
            raise unexpected_status(PREFIX, response)
        return str(body["id"])

    def status(self, job_id: str) -> RemoteJob:
        """``GET /jobs/{id}``; ``HTTP_GENERATOR_JOB_LOST`` if the service no longer knows it."""
        response = send(self._http, PREFIX, "GET", f"/jobs/{job_id}")
        if response.status_code == 404:
            raise GeneratorError(f"{self.base_url} does not know job {job_id}", code=f"{PREFIX}_JOB_LOST",
                                 job_id=job_id)
        if response.status_code != 200:
            raise unexpected_status(PREFIX, response)
        return RemoteJob.from_body(json_body(PREFIX, response))

    def cancel(self, job_id: str) -> bool:
        """``DELETE /jobs/{id}``; False when the job had already ended or is unknown."""
        response = send(self._http, PREFIX, "DELETE", f"/jobs/{job_id}")
        if response.status_code in (404, 409):
            return False
        if response.status_code not in (200, 202, 204):
            raise unexpected_status(PREFIX, response)
        return True

    def wait(self, job_id: str, on_progress: ProgressCallback | None = None,
             is_cancelled: CancelCheck | None = None, *, max_wait: float | None = None) -> RemoteJob:
        """Poll until the job ends; the job when it succeeded.

        A failed job raises ``HTTP_GENERATOR_FAILED`` carrying the service's code and message; a
        job canceled on the service's side raises ``JobCanceled``. When ``is_cancelled`` says
        stop, or ``max_wait`` passes, the job is canceled on the service and the reason raised.
        """
        deadline = time.monotonic() + max_wait if max_wait else None
        backoff = Backoff(self.poll_interval, self.max_poll_interval)
        tolerated = TransientErrors(self.poll_retries)
        last_progress = -1.0
        while True:
            job = tolerated.call(lambda: self.status(job_id))
            if job is not None and job.ended:
                return self._finished(job, on_progress)
            if job is not None and on_progress is not None and job.progress != last_progress:
                on_progress(min(99.0, max(0.0, job.progress)), job.message or job.status)
                last_progress = job.progress
                backoff.reset()
            reason = self._wait_reason(backoff.next_delay(), is_cancelled, deadline)
            if reason is not None:
                self._stop(job_id)
                raise reason

    def download_outputs(self, job: RemoteJob, dest_dir: str | Path) -> list[Path]:
        """Fetch every output of a succeeded job into ``dest_dir``; the paths written."""
        dest = Path(dest_dir)
        dest.mkdir(parents=True, exist_ok=True)
        taken: set[Path] = set()
        files = []
        for index, output in enumerate(job.outputs):
            source = output.get("url") or output.get("path")
            if not isinstance(source, str) or not source:
                raise GeneratorError(f"output {index} of job {job.id} has neither url nor path",
                                     code=f"{PREFIX}_BAD_RESPONSE", retryable=False)
            name = safe_filename(str(output.get("name") or source.rsplit("/", 1)[-1]), f"output-{index}")
            target = unique_path(dest, name, taken)
            files.append(self._fetch_url(output["url"], target) if output.get("url")
                         else self._copy_local(source, target))
        return files

    def run(self, task: str, inputs: Mapping[str, Any] | None, params: Mapping[str, Any] | None,
            dest_dir: str | Path, on_progress: ProgressCallback | None = None,
            is_cancelled: CancelCheck | None = None, *, max_wait: float | None = None,
            idempotency_key: str | None = None) -> HttpGeneratorRun:
        """Submit ``task``, wait for it, and download its outputs into ``dest_dir``."""
        job_id = self.submit(task, inputs, params, idempotency_key=idempotency_key)
        job = self.wait(job_id, on_progress, is_cancelled, max_wait=max_wait)
        return HttpGeneratorRun(job, self.download_outputs(job, dest_dir))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpGeneratorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _finished(self, job: RemoteJob, on_progress: ProgressCallback | None) -> RemoteJob:
        if job.status == "failed":
            error = job.error or {}
            raise _remote_error(f"{PREFIX}_FAILED", f"job {job.id} failed", {"error": error},
                                retryable=bool(error.get("retryable", False)), job_id=job.id)
        if job.status == "canceled":
            raise JobCanceled(f"job {job.id} was canceled by the generator", job_id=job.id)
        if on_progress is not None:
            on_progress(100.0, job.message or "succeeded")
        return job

    def _wait_reason(self, delay: float, is_cancelled: CancelCheck | None,
                     deadline: float | None) -> Exception | None:
        reason = cancel_reason(is_cancelled)
        if reason is None and deadline is not None:
            if time.monotonic() >= deadline:
                return GeneratorError("the generator did not finish in time", code=f"{PREFIX}_TIMEOUT")
            delay = min(delay, deadline - time.monotonic())
        return reason or wait_unless_cancelled(max(0.0, delay), is_cancelled)

    def _stop(self, job_id: str) -> None:
        """Cancel on the service and wait (bounded) until it reports the job ended."""
        try:
            if not self.cancel(job_id):
                return
            deadline = time.monotonic() + self.cancel_wait
            backoff = Backoff(self.poll_interval, self.max_poll_interval)
            while not self.status(job_id).ended and time.monotonic() < deadline:
                time.sleep(backoff.next_delay())
        except GeneratorError as exc:  # the cancel reason is what the caller needs to see
            log.warning("could not cancel job %s on %s: %s", job_id, self.base_url, exc)

    def _fetch_url(self, url: str, target: Path) -> Path:
        absolute = httpx.URL(url)
        if not absolute.is_absolute_url or _origin(absolute) == _origin(httpx.URL(self.base_url)):
            return download(self._http, PREFIX, url, target)
        # Another origin (a bucket, a CDN): do not hand it this service's headers.
        with make_client("", *self._timeouts, self._transport) as bare:
            return download(bare, PREFIX, url, target)

    def _copy_local(self, path: str, target: Path) -> Path:
        source = Path(path).resolve()
        if self.local_root is None or not source.is_relative_to(self.local_root) or not source.is_file():
            raise GeneratorError(
                f"output path {path!r} is not a file under the shared folder {self.local_root}",
                code=f"{PREFIX}_OUTPUT_NOT_ALLOWED", retryable=False, path=path,
            )
        shutil.copyfile(source, target)
        return target


def _lenient_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"error": {"message": response.text[:300]}}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _remote_error(code: str, summary: str, body: Any, *, retryable: bool, **details: Any) -> GeneratorError:
    """A ``GeneratorError`` carrying the service's own ``{"error": {"code", "message"}}``."""
    raw = body.get("error") if isinstance(body, Mapping) else None
    error = raw if isinstance(raw, Mapping) else {"message": str(raw or body)}
    remote_code, remote_message = error.get("code"), str(error.get("message") or "")
    return GeneratorError(
        f"{summary}: {remote_code or 'error'}: {remote_message}".rstrip(": "), code=code, retryable=retryable,
        remote_code=remote_code, remote_message=remote_message, **details,
    )
