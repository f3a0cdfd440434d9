"""What the remote adapters share: one way to call a server, back off, and save a download.

Transport failures become :class:`~montage.errors.GeneratorError` with a code that names the
server kind (``COMFYUI_UNREACHABLE``, ``HTTP_GENERATOR_TIMEOUT``, …) so a stage's error says which
remote failed and whether another attempt could help; nothing here knows about any one protocol.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from montage import outbound
from montage.errors import GeneratorError, JobCanceled

#: Called with no arguments; truthy (or raising) means "stop now".
CancelCheck = Callable[[], object]
#: Receives (percent 0–100, message), like ``StageContext.progress``.
ProgressCallback = Callable[[float, str], None]

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()\-]+")
#: Code endings of failures that say nothing about the work itself, only about the way to it.
_TRANSIENT = ("_UNREACHABLE", "_TIMEOUT", "_SERVER_ERROR")
T = TypeVar("T")
log = logging.getLogger(__name__)


def make_client(
    base_url: str, timeout: float, connect_timeout: float, transport: httpx.BaseTransport | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` bound to ``base_url`` with a timeout on every phase of every call; every
    request (and redirect) passes the outbound URL policy unless a test hands in its transport."""
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        transport=transport or outbound.GuardedTransport(),
        headers=headers,
        follow_redirects=True,
    )


def send(client: httpx.Client, prefix: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send a request; transport errors and 5xx answers become ``GeneratorError``.

    4xx answers are returned as they are, because each protocol reads its own error body.
    """
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise GeneratorError(
            f"{method} {url} timed out: {exc}", code=f"{prefix}_TIMEOUT", url=str(client.base_url) + url
        ) from exc
    except httpx.TransportError as exc:
        # the address without its query (which may carry a token): the base URL is empty for absolute URLs
        target = url.split("?", 1)[0] if url.startswith(("http://", "https://")) else str(client.base_url)
        raise GeneratorError(f"cannot reach {target}: {exc}", code=f"{prefix}_UNREACHABLE", url=target) from exc
    if response.status_code >= 500:
        raise GeneratorError(
            f"{method} {url} answered {response.status_code}: {response.text[:300]}",
            code=f"{prefix}_SERVER_ERROR", status=response.status_code,
        )
    return response


def unexpected_status(prefix: str, response: httpx.Response) -> GeneratorError:
    """The error for an answer the protocol does not allow at this point."""
    request = response.request
    return GeneratorError(
        f"{request.method} {request.url.path} answered {response.status_code}: {response.text[:300]}",
        code=f"{prefix}_BAD_RESPONSE", retryable=False, status=response.status_code,
    )


def json_body(prefix: str, response: httpx.Response) -> Any:
    """The response's JSON, or a ``{prefix}_BAD_RESPONSE`` error saying it was not JSON."""
    try:
        return response.json()
    except ValueError as exc:
        raise unexpected_status(prefix, response) from exc


def safe_filename(name: str, fallback: str = "output") -> str:
    """A file name that cannot leave its folder: no separators, no dot-dot, nothing odd."""
    base = os.path.basename(name.replace("\\", "/"))
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")
    return cleaned or fallback


def unique_path(dest_dir: Path, name: str, taken: set[Path]) -> Path:
    """``dest_dir/name``, or ``stem-2.ext``, ``stem-3.ext``… if that name is already used."""
    candidate = dest_dir / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while candidate in taken or candidate.exists():
        candidate = dest_dir / f"{stem}-{n}{suffix}"
        n += 1
    taken.add(candidate)
    return candidate


def download(
    client: httpx.Client, prefix: str, url: str, dest: Path, params: dict[str, str] | None = None
) -> Path:
    """Stream ``url`` into ``dest``; a failed download leaves no file behind."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh, client.stream("GET", url, params=params) as response:
            if response.status_code != 200:
                response.read()
                raise GeneratorError(
                    f"download of {response.request.url} answered {response.status_code}",
                    code=f"{prefix}_DOWNLOAD_FAILED", status=response.status_code,
                    retryable=response.status_code >= 500,
                )
            for chunk in response.iter_bytes(1 << 16):
                fh.write(chunk)
        os.replace(tmp_name, dest)
    except httpx.TimeoutException as exc:
        raise GeneratorError(f"download of {url} timed out", code=f"{prefix}_TIMEOUT") from exc
    except httpx.TransportError as exc:
        raise GeneratorError(f"download of {url} failed: {exc}", code=f"{prefix}_UNREACHABLE") from exc
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return dest


class Backoff:
    """Polling intervals that grow from ``initial`` by ``factor`` up to ``maximum``."""

    def __init__(self, initial: float, maximum: float, factor: float = 1.5) -> None:
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.current = initial

    def next_delay(self) -> float:
        delay = self.current
        self.current = min(self.maximum, self.current * self.factor)
        return delay

    def reset(self) -> None:
        self.current = self.initial


def cancel_reason(is_cancelled: CancelCheck | None) -> Exception | None:
    """None to go on; otherwise the exception to raise once the remote work is stopped.

    ``is_cancelled`` may return a truth value or raise (``StageContext.check_cancelled`` raises
    ``JobCanceled`` or ``JobTimedOut``); a raised exception is kept so the caller re-raises it.
    """
    if is_cancelled is None:
        return None
    try:
        stop = is_cancelled()
    except Exception as exc:
        return exc
    return JobCanceled("canceled while the remote server was working") if stop else None


def wait_unless_cancelled(
    seconds: float, is_cancelled: CancelCheck | None, slice_s: float = 0.1
) -> Exception | None:
    """Wait up to ``seconds``, asking ``is_cancelled`` every ``slice_s``; the cancel reason if any.

    This paces polling of a remote server; it is not a stand-in for waiting on a local condition.
    """
    deadline = time.monotonic() + seconds
    while True:
        reason = cancel_reason(is_cancelled)
        if reason is not None:
            return reason
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        time.sleep(min(slice_s, remaining))


class TransientErrors:
    """Lets a polling loop ride out a few consecutive transport failures (a restart, a blip).

    ``call(fn)`` returns ``fn()``, or None after an unreachable/timeout/5xx failure while fewer
    than ``limit`` have happened in a row; any other error, or one too many, is raised.
    """

    def __init__(self, limit: int) -> None:
        self.limit, self.count = limit, 0

    def call(self, fn: Callable[[], T]) -> T | None:
        try:
            result = fn()
        except GeneratorError as exc:
            if not exc.code.endswith(_TRANSIENT) or self.count >= self.limit:
                raise
            self.count += 1
            log.info("polling failed (%s of %s tolerated): %s", self.count, self.limit, exc)
            return None
        self.count = 0
        return result
