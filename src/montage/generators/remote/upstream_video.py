"""A client for submit-then-poll video providers: submit, follow to the end, keep the video.

:class:`UpstreamVideoClient` submits a task, then :meth:`~UpstreamVideoClient.follow` reads
its status until it ends, reporting the contract's progress estimate, and downloads the
video into the job's folder (so the URL montage gives out stays valid after the upstream's
expires). How a provider is spoken to is an :class:`~.upstream_video_config.UpstreamVideoConfig`.

It never polls forever:

- a network failure, a timeout (a slow answer) or a 5xx keeps the task going with the
  error as a notice (``NOTICE`` + "查询失败: …"), until ``max_consecutive_failures`` in a row
  fail it with ``UPSTREAM_UNREACHABLE``;
- ``deadline_s`` after the submit it fails with ``UPSTREAM_DEADLINE``;
- a status answer without the task, ``missing_limit`` times, fails it with
  ``UPSTREAM_TASK_NOT_FOUND`` ("任务不存在或已过期");
- a failed task fails with ``UPSTREAM_FAIL_<code>`` (``UPSTREAM_FAILED`` without a code) and the
  configured message;
- a download that fails (an expired URL: 403/404/410, or a dropped connection) reads the
  status again for a fresh URL, ``download_attempts`` times, then ``UPSTREAM_DOWNLOAD_FAILED``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from montage import outbound
from montage.errors import GeneratorError

from ._http import Backoff, CancelCheck, json_body, send, wait_unless_cancelled
from .upstream_video_config import UpstreamState, UpstreamVideoConfig, dig, expand_env, fill

PREFIX = "UPSTREAM"
#: Marks a progress message that the video facade shows as the task's ``error`` while it runs.
NOTICE = "⚠ "
#: Error code prefix of a task the upstream failed; the rest is the upstream's fail code.
FAIL_PREFIX = "UPSTREAM_FAIL_"
_TRANSIENT = ("_UNREACHABLE", "_TIMEOUT", "_SERVER_ERROR")
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class UpstreamStatus:
    """One reading of a task's status, in the contract's terms."""

    state: UpstreamState
    code: str
    progress: float
    url: str | None = None
    fail_code: str | None = None


def transient(error: GeneratorError) -> bool:
    return error.code.endswith(_TRANSIENT)


class UpstreamVideoClient:
    """One upstream model's API."""

    def __init__(self, config: UpstreamVideoConfig, *, env: Mapping[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        try:
            headers = {name: expand_env(value, env) for name, value in config.headers.items()}
        except KeyError as exc:
            raise GeneratorError(f"upstream header needs the environment variable {exc.args[0]}",
                                 code=f"{PREFIX}_MISCONFIGURED", retryable=False) from None
        self._http = httpx.Client(timeout=httpx.Timeout(config.request_timeout_s, connect=config.connect_timeout_s),
                                  headers=headers, transport=transport or outbound.GuardedTransport(),
                                  follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> UpstreamVideoClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one request each ----------------------------------------------------------------------
    def submit(self, values: Mapping[str, Any], idempotency_key: str | None = None) -> str:
        """Start a task; its upstream id. A refusal (4xx) is not retried; a network failure is."""
        config = self.config
        headers = {config.idempotency_header: idempotency_key} if config.idempotency_header and idempotency_key \
            else None
        response = send(self._http, PREFIX, "POST", str(config.submit_url), json=fill(config.submit_body, values),
                        headers=headers)
        if response.status_code >= 400:
            raise GeneratorError(f"the upstream refused the task ({response.status_code}): {response.text[:300]}",
                                 code=f"{PREFIX}_REJECTED", retryable=response.status_code == 429,
                                 status=response.status_code)
        task_id = dig(json_body(PREFIX, response), config.task_id_path)
        if task_id in (None, ""):
            raise GeneratorError(f"no task id at {config.task_id_path!r} in {response.text[:300]}",
                                 code=f"{PREFIX}_BAD_RESPONSE", retryable=False)
        return str(task_id)

    def status(self, task_id: str) -> UpstreamStatus | None:
        """The task's status, or None when the answer does not have the task."""
        config = self.config
        values = {"task_id": task_id}
        url = fill(config.status_url, values)
        if config.status_method == "POST":
            response = send(self._http, PREFIX, "POST", url, json=fill(config.status_body, values))
        else:
            response = send(self._http, PREFIX, "GET", url)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise GeneratorError(f"status of {task_id} answered {response.status_code}: {response.text[:300]}",
                                 code=f"{PREFIX}_SERVER_ERROR" if response.status_code == 429 else f"{PREFIX}_REJECTED",
                                 retryable=False, status=response.status_code)
        record = dig(json_body(PREFIX, response), config.record_path, values)
        if not isinstance(record, Mapping) or dig(record, config.status_path) is None:
            return None
        return self.read(record)

    def read(self, record: Mapping[str, Any]) -> UpstreamStatus:
        """A task record in the contract's terms."""
        config = self.config
        code = str(dig(record, config.status_path))
        items = dig(record, config.items_path)
        items = items if isinstance(items, list) else []
        fail_code = dig(record, config.fail_code_path)
        fail_code = str(fail_code) if fail_code not in (None, "", 0, "0") else None
        url = None
        if items and isinstance(items[0], Mapping):
            url = next((str(u) for path in config.video_url_paths if (u := dig(items[0], path))), None)
        return UpstreamStatus(config.state_of(code), code, config.progress_of(code, len(items)), url, fail_code)

    def download(self, url: str, dest: Path) -> Path:
        """Stream ``url`` into ``dest`` (at most ``max_video_bytes``); nothing is left on failure."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out, self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise GeneratorError(f"the video download answered {response.status_code}",
                                         code=f"{PREFIX}_DOWNLOAD_FAILED", status=response.status_code)
                size = 0
                for chunk in response.iter_bytes(1 << 16):
                    size += len(chunk)
                    if size > self.config.max_video_bytes:
                        raise GeneratorError("the video is larger than max_video_bytes",
                                             code=f"{PREFIX}_VIDEO_TOO_LARGE", retryable=False)
                    out.write(chunk)
            if size == 0:
                raise GeneratorError("the video download was empty", code=f"{PREFIX}_DOWNLOAD_FAILED")
            os.replace(partial, dest)
        except httpx.HTTPError as exc:
            raise GeneratorError(f"the video download failed: {exc}", code=f"{PREFIX}_DOWNLOAD_FAILED") from exc
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        return dest

    # -- following a task ------------------------------------------------------------------------
    def follow(self, task_id: str, submitted_at: float, dest: Path, progress: Progress | None = None,
               is_cancelled: CancelCheck | None = None) -> str:
        """Poll until the task ends; the video is then at ``dest``. Returns the URL it came from."""
        run = _Follow(self, task_id, submitted_at, progress or (lambda _p, _m: None))
        while True:
            run.check_deadline()
            reading = run.read_status()
            if reading is not None:
                url = run.handle(reading, dest)
                if url is not None:
                    return url
            stop = wait_unless_cancelled(run.backoff.next_delay(), is_cancelled)
            if stop is not None:
                raise stop


class _Follow:
    """The state of one :meth:`UpstreamVideoClient.follow`."""

    def __init__(self, client: UpstreamVideoClient, task_id: str, submitted_at: float, progress: Progress) -> None:
        self.client, self.config, self.task_id = client, client.config, task_id
        self.submitted_at, self.report = submitted_at, progress
        self.backoff = Backoff(self.config.poll_interval_s, self.config.max_poll_interval_s)
        self.failures = self.missing = self.downloads = 0
        self.last_code: str | None = None
        self.last_progress = 0.0
        self.last_report: tuple[float, str] | None = None

    def check_deadline(self) -> None:
        waited = time.time() - self.submitted_at
        if waited > self.config.deadline_s:
            raise GeneratorError(f"上游任务 {self.task_id} 在 {self.config.deadline_s:g} 秒内没有完成",
                                 code=f"{PREFIX}_DEADLINE", retryable=False, waited_s=round(waited))

    def read_status(self) -> UpstreamStatus | None:
        """The status, or None after a tolerated network failure or a missing record."""
        try:
            reading = self.client.status(self.task_id)
        except GeneratorError as exc:
            if not transient(exc):
                raise
            self.failures += 1
            if self.failures >= self.config.max_consecutive_failures:
                raise GeneratorError(f"查询失败 {self.failures} 次: {exc.message}", code=f"{PREFIX}_UNREACHABLE",
                                     retryable=False) from exc
            self._progress(self.last_progress, f"{NOTICE}查询失败: {exc.message}")
            return None
        self.failures = 0
        if reading is None:
            self.missing += 1
            if self.missing >= self.config.missing_limit:
                raise GeneratorError("任务不存在或已过期", code=f"{PREFIX}_TASK_NOT_FOUND", retryable=False)
            return None
        self.missing = 0
        if reading.code != self.last_code:
            self.last_code = reading.code
            self.backoff.reset()
        return reading

    def handle(self, reading: UpstreamStatus, dest: Path) -> str | None:
        """Act on a status: fail, download (returning the URL), or report progress."""
        if reading.state == "failed":
            code = f"{FAIL_PREFIX}{reading.fail_code[:40]}" if reading.fail_code else f"{PREFIX}_FAILED"
            raise GeneratorError(self.config.failure_message(reading.fail_code), code=code, retryable=False)
        if reading.state == "completed" and reading.url:
            return self._download(reading.url, dest)
        if reading.state == "completed":
            self._progress(95.0, f"{NOTICE}视频生成完成,正在提取URL")
        else:
            self._progress(reading.progress, f"upstream status {reading.code}")
        return None

    def _download(self, url: str, dest: Path) -> str | None:
        self._progress(96.0, "downloading the video")
        try:
            self.client.download(url, dest)
        except GeneratorError as exc:
            if not (transient(exc) or exc.code == f"{PREFIX}_DOWNLOAD_FAILED"):
                raise
            self.downloads += 1
            if self.downloads >= self.config.download_attempts:
                raise GeneratorError(f"the video could not be downloaded: {exc.message}",
                                     code=f"{PREFIX}_DOWNLOAD_FAILED", retryable=False) from exc
            self._progress(96.0, f"{NOTICE}下载失败，重新获取链接: {exc.message}")
            self.backoff.reset()
            return None
        return url

    def _progress(self, percent: float, message: str) -> None:
        """Report, unless nothing changed since the last report (a waiting task writes nothing)."""
        if (percent, message) == self.last_report:
            return
        self.last_progress, self.last_report = percent, (percent, message)
        self.report(percent, message)
