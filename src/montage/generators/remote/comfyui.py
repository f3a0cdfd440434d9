"""A client for a ComfyUI server: upload, queue a graph, follow it, fetch what it made, stop it.

It speaks ComfyUI's own HTTP API (``server.py`` in ComfyUI): ``POST /upload/image``, ``POST
/prompt`` → ``{"prompt_id", "number", "node_errors"}`` or ``400 {"error", "node_errors"}``, ``GET
/history/{id}``, ``GET /view``, ``GET /queue``, ``POST /queue {"delete": [...]}``, ``POST
/interrupt``, ``GET /system_stats``, and follows a prompt over the ``/ws?clientId=`` websocket
(see :mod:`.comfyui_events`). If the websocket cannot be opened or drops, following falls back
to polling ``/history/{id}`` with backoff, so a proxy that blocks websockets only costs latency.

Every call has a timeout. ``follow`` asks ``is_cancelled`` between messages; on cancel it takes
the prompt off the queue if it has not started, interrupts it if it is running, waits briefly for
ComfyUI to confirm, and raises the cancel reason (``JobCanceled`` or whatever ``is_cancelled``
raised). One client follows one prompt at a time; the HTTP calls are safe from any thread.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from montage import outbound
from montage.errors import GeneratorError, UrlRefused

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
from .comfyui_events import PromptTracker, outcome_error, outcome_from_history
from .comfyui_graph import graph_rejected

log = logging.getLogger(__name__)
PREFIX = "COMFYUI"
WEBSOCKET_RETRY_S = 60.0


class _Stop(Exception):
    """Following must end early; ``reason`` is raised once the remote prompt is stopped."""

    def __init__(self, reason: Exception) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass(frozen=True)
class ComfyRun:
    """A finished prompt: its id, its history entry, and the files downloaded from it."""

    prompt_id: str
    history: dict[str, Any]
    files: list[Path]


class ComfyUIClient:
    """One ComfyUI server, seen through its HTTP API and websocket."""

    def __init__(
        self, base_url: str, *, client_id: str | None = None, timeout: float = 30.0,
        connect_timeout: float = 5.0, use_websocket: bool = True, poll_interval: float = 0.05,
        max_poll_interval: float = 1.0, idle_check: float = 2.0, cancel_wait: float = 10.0,
        poll_retries: int = 5, headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.use_websocket = use_websocket
        self.poll_interval, self.max_poll_interval = poll_interval, max_poll_interval
        #: While following over the websocket, look at the history after this long without news,
        #: in case the socket was taken over by another connection with the same client id.
        self.idle_check = idle_check
        self.cancel_wait = cancel_wait
        #: Consecutive unreachable/timeout/5xx answers a wait rides out before giving up.
        self.poll_retries = poll_retries
        #: Sent with every request and the websocket handshake (e.g. a reverse proxy's token).
        self.headers = dict(headers or {})
        self._http = make_client(self.base_url, timeout, connect_timeout, transport, self.headers)
        self._ws: ClientConnection | None = None
        #: After a failed websocket attempt, poll instead until this time rather than paying for
        #: a refused (or, behind some proxies, hanging) handshake on every prompt.
        self._ws_retry_at = 0.0

    # -- plain HTTP calls ------------------------------------------------------------------

    def system_stats(self) -> dict[str, Any]:
        """``GET /system_stats``: versions, RAM and devices; a cheap health check."""
        response = send(self._http, PREFIX, "GET", "/system_stats")
        if response.status_code != 200:
            raise unexpected_status(PREFIX, response)
        return dict(json_body(PREFIX, response))

    def upload_image(self, path: str | Path, *, subfolder: str = "", overwrite: bool = False) -> str:
        """Upload a file to ComfyUI's input folder; the name a ``LoadImage`` node takes."""
        path = Path(path)
        with path.open("rb") as fh:
            files = {"image": (path.name, fh, "application/octet-stream")}
            data = {"type": "input", "subfolder": subfolder, "overwrite": "true" if overwrite else "false"}
            response = send(self._http, PREFIX, "POST", "/upload/image", files=files, data=data)
        if response.status_code != 200:
            raise unexpected_status(PREFIX, response)
        body = json_body(PREFIX, response)
        name, folder = str(body["name"]), str(body.get("subfolder") or "")
        return f"{folder}/{name}" if folder else name

    def queue_prompt(self, graph: Mapping[str, Any], client_id: str | None = None) -> str:
        """``POST /prompt``; the prompt id, or ``COMFYUI_GRAPH_REJECTED`` naming the bad nodes."""
        payload = {"prompt": dict(graph), "client_id": client_id or self.client_id}
        response = send(self._http, PREFIX, "POST", "/prompt", json=payload)
        if response.status_code == 400:
            raise graph_rejected(json_body(PREFIX, response), graph)
        if response.status_code != 200:
            raise unexpected_status(PREFIX, response)
        body = json_body(PREFIX, response)
        if body.get("node_errors"):
            # ComfyUI queues a graph when at least one output validates and drops the others.
            log.warning("ComfyUI ignores outputs of prompt %s: %s", body["prompt_id"], body["node_errors"])
        return str(body["prompt_id"])

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The history entry of a finished prompt, None while it is queued or running."""
        response = send(self._http, PREFIX, "GET", f"/history/{prompt_id}")
        if response.status_code != 200:
            raise unexpected_status(PREFIX, response)
        entry = json_body(PREFIX, response).get(prompt_id)
        return dict(entry) if isinstance(entry, Mapping) else None

    def queue(self) -> tuple[list[str], list[str]]:
        """(running, pending) prompt ids, from ``GET /queue``."""
        response = send(self._http, PREFIX, "GET", "/queue")
        if response.status_code != 200:
            raise unexpected_status(PREFIX, response)
        body = json_body(PREFIX, response)
        # Queue items are [number, prompt_id, prompt, extra_data, outputs_to_execute].
        return ([str(item[1]) for item in body.get("queue_running", [])],
                [str(item[1]) for item in body.get("queue_pending", [])])

    def interrupt(self, prompt_id: str | None = None) -> None:
        """``POST /interrupt``; with ``prompt_id`` newer servers stop only that prompt."""
        body = {"prompt_id": prompt_id} if prompt_id else {}
        response = send(self._http, PREFIX, "POST", "/interrupt", json=body)
        if response.status_code != 200:
            raise unexpected_status(PREFIX, response)

    def delete_from_queue(self, prompt_id: str) -> None:
        """``POST /queue {"delete": [id]}``: drop a prompt that has not started."""
        response = send(self._http, PREFIX, "POST", "/queue", json={"delete": [prompt_id]})
        if response.status_code != 200:
            raise unexpected_status(PREFIX, response)

    def download_outputs(
        self, history: Mapping[str, Any], dest_dir: str | Path, output_nodes: list[str] | None = None
    ) -> list[Path]:
        """Download a prompt's output files into ``dest_dir`` via ``GET /view``.

        ``history`` is an entry from :meth:`history` (or ``{prompt_id: entry}``). Without
        ``output_nodes`` every saved (``type: output``) file is fetched; naming nodes fetches all
        of theirs, previews (``type: temp``) included.
        """
        dest = Path(dest_dir)
        taken: set[Path] = set()
        paths = []
        for item in output_files(history, output_nodes):
            target = unique_path(dest, safe_filename(item["filename"]), taken)
            params = {"filename": item["filename"], "subfolder": item.get("subfolder", ""),
                      "type": item.get("type", "output")}
            paths.append(download(self._http, PREFIX, "/view", target, params=params))
        return paths

    # -- following a prompt ------------------------------------------------------------------

    def connect(self) -> bool:
        """Open the websocket now (before queueing, so no event is missed); False if it cannot."""
        return self._websocket()[0] is not None

    def follow(
        self, prompt_id: str, on_progress: ProgressCallback | None = None,
        is_cancelled: CancelCheck | None = None, *, total_nodes: int = 0, max_wait: float | None = None,
    ) -> dict[str, Any]:
        """Wait for a queued prompt to end; its history entry on success.

        Raises ``COMFYUI_EXECUTION_ERROR`` if a node failed, ``JobCanceled`` if the prompt was
        interrupted (by anyone), ``COMFYUI_TIMEOUT`` after ``max_wait`` seconds, and the cancel
        reason when ``is_cancelled`` says stop. ``on_progress(percent, message)`` gets node and
        step progress; ``total_nodes`` (the graph's size) lets it compute a percentage.
        """
        tracker = PromptTracker(prompt_id, total_nodes, on_progress)
        deadline = time.monotonic() + max_wait if max_wait else None
        try:
            if self.use_websocket:
                self._follow_websocket(tracker, is_cancelled, deadline)
            entry = self._poll_history(prompt_id, is_cancelled, deadline)
        except _Stop as stop:
            self._stop_remote(prompt_id)
            raise stop.reason from None
        outcome, data = outcome_from_history(entry)
        error = outcome_error(prompt_id, outcome, data or tracker.outcome_data)
        if error is not None:
            raise error
        if on_progress is not None:
            on_progress(100.0, "done")
        return entry

    def run(
        self, graph: Mapping[str, Any], dest_dir: str | Path, on_progress: ProgressCallback | None = None,
        is_cancelled: CancelCheck | None = None, *, output_nodes: list[str] | None = None,
        max_wait: float | None = None,
    ) -> ComfyRun:
        """Queue ``graph``, follow it to the end, and download its outputs into ``dest_dir``."""
        if self.use_websocket:
            self.connect()
        prompt_id = self.queue_prompt(graph)
        entry = self.follow(prompt_id, on_progress, is_cancelled, total_nodes=len(graph), max_wait=max_wait)
        return ComfyRun(prompt_id, entry, self.download_outputs(entry, dest_dir, output_nodes))

    def cancel_prompt(self, prompt_id: str) -> str:
        """Stop a prompt: ``"deleted"`` from the queue, ``"interrupted"`` while running, or ``"gone"``.

        Only this prompt is touched: a prompt of someone else running on the same server is
        not interrupted. A prompt that starts between the look and the delete is caught by
        looking again.
        """
        deleted = False
        for _ in range(3):
            running, pending = self.queue()
            if prompt_id in running:
                self.interrupt(prompt_id)
                return "interrupted"
            if prompt_id not in pending:
                break
            self.delete_from_queue(prompt_id)
            deleted = True
        return "deleted" if deleted else "gone"

    def close(self) -> None:
        self._close_websocket()
        self._http.close()

    def __enter__(self) -> ComfyUIClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _websocket(self) -> tuple[ClientConnection | None, bool]:
        """(open websocket or None, whether it was opened just now)."""
        if self._ws is not None:
            return self._ws, False
        if time.monotonic() < self._ws_retry_at:
            return None, False
        ws_url = "ws" + self.base_url[len("http"):] if self.base_url.startswith("http") else self.base_url
        try:
            outbound.check_url(self.base_url)  # the websocket library is not httpx: check its address here
            # Held open across prompts; entered as a context so close() is the only way out.
            ws = connect(f"{ws_url}/ws?clientId={self.client_id}", additional_headers=self.headers,
                         open_timeout=self.connect_timeout, close_timeout=1.0,
                         max_size=64 * 1024 * 1024).__enter__()
        except (OSError, WebSocketException, TimeoutError, UrlRefused) as exc:
            log.info("ComfyUI websocket unavailable at %s (%s); polling history instead", ws_url, exc)
            self._ws_retry_at = time.monotonic() + WEBSOCKET_RETRY_S
            return None, False
        try:
            # ComfyUI files the socket under our client id after the handshake, then sends "status";
            # events of a prompt queued before that would go nowhere, so wait for it.
            ws.recv(timeout=self.connect_timeout)
        except (OSError, WebSocketException, TimeoutError) as exc:
            log.info("ComfyUI websocket at %s sent no status (%s); polling history instead", ws_url, exc)
            ws.close()
            self._ws_retry_at = time.monotonic() + WEBSOCKET_RETRY_S
            return None, False
        self._ws = ws
        return ws, True

    def _close_websocket(self) -> None:
        if self._ws is not None:
            ws, self._ws = self._ws, None
            ws.close()

    def _follow_websocket(self, tracker: PromptTracker, is_cancelled: CancelCheck | None,
                          deadline: float | None) -> None:
        """Read events until the prompt is over; return early if the socket fails."""
        ws, fresh = self._websocket()
        if ws is None:
            return
        # A socket opened after queueing may have missed the end: look at the history at once.
        last_news = float("-inf") if fresh else time.monotonic()
        while not tracker.finished:
            _check_stop(is_cancelled, deadline)
            if time.monotonic() - last_news >= self.idle_check:
                if self.history(tracker.prompt_id) is not None:
                    return
                last_news = time.monotonic()
            try:
                frame = ws.recv(timeout=0.25)
            except TimeoutError:
                continue
            except (OSError, WebSocketException) as exc:
                log.info("ComfyUI websocket lost (%s); polling history instead", exc)
                self._close_websocket()
                return
            seen = tracker.events_seen
            tracker.feed_text(frame)
            if tracker.events_seen != seen:
                last_news = time.monotonic()

    def _poll_history(self, prompt_id: str, is_cancelled: CancelCheck | None,
                      deadline: float | None) -> dict[str, Any]:
        """The prompt's history entry, polling with backoff until ComfyUI has written it."""
        backoff = Backoff(self.poll_interval, self.max_poll_interval)
        tolerated = TransientErrors(self.poll_retries)
        while True:
            entry = tolerated.call(lambda: self.history(prompt_id))
            if entry is not None:
                return entry
            _check_stop(is_cancelled, deadline)
            delay = backoff.next_delay()
            if deadline is not None:
                delay = max(0.0, min(delay, deadline - time.monotonic()))
            reason = wait_unless_cancelled(delay, is_cancelled)
            if reason is not None:
                raise _Stop(reason)

    def _stop_remote(self, prompt_id: str) -> None:
        """Take the prompt off the server and wait (bounded) for ComfyUI to confirm it ended."""
        try:
            if self.cancel_prompt(prompt_id) != "interrupted":
                return
            deadline = time.monotonic() + self.cancel_wait
            backoff = Backoff(self.poll_interval, self.max_poll_interval)
            while self.history(prompt_id) is None and time.monotonic() < deadline:
                time.sleep(backoff.next_delay())
        except GeneratorError as exc:
            log.warning("could not stop ComfyUI prompt %s: %s", prompt_id, exc)


def _check_stop(is_cancelled: CancelCheck | None, deadline: float | None) -> None:
    reason = cancel_reason(is_cancelled)
    if reason is not None:
        raise _Stop(reason)
    if deadline is not None and time.monotonic() >= deadline:
        raise _Stop(GeneratorError("ComfyUI prompt did not finish in time", code="COMFYUI_TIMEOUT"))


def output_files(
    history: Mapping[str, Any], output_nodes: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """The file records (``{"filename", "subfolder", "type"}``) in a history entry's outputs.

    Output nodes list files under keys such as ``images`` (also used for video), ``gifs`` or
    ``audio``; any list of records with a ``filename`` counts.
    """
    if "outputs" not in history and len(history) == 1:
        history = next(iter(history.values()))
    for node_id, ui in (history.get("outputs") or {}).items():
        if output_nodes is not None and str(node_id) not in output_nodes:
            continue
        for items in ui.values() if isinstance(ui, Mapping) else []:
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, Mapping) or "filename" not in item:
                    continue
                if output_nodes is None and item.get("type") == "temp":
                    continue
                yield dict(item)
