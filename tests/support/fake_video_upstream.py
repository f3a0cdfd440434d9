"""A local Jimeng-style async video API, for tests: real HTTP on 127.0.0.1, a random port, a thread.

Routes (the shapes of the async video contract's upstream):

- ``POST /v1/video/generate`` ``{model, prompt, ...}`` → ``{"ret": "0", "data": {"aigc_data":
  {"history_record_id": "<id>"}}}``; a prompt with ``#reject`` → 400.
- ``POST /mweb/v1/get_history_by_ids`` ``{"history_ids": [id]}`` → ``{"ret": "0", "data": {id:
  {"status", "fail_code", "item_list"}}}``; an unknown (or forgotten) id is simply absent.
- ``GET /files/<id>.mp4?exp=<unix s>&sig=<hmac>`` → a real small MP4; 403 once ``exp`` has passed.

Each status read moves a task one step along its script; the prompt's ``#`` directives set it:

``#steps=20,42,45,50``  statuses read in turn (the last one repeats); default ``20,42,45,50``
``#fail=5000``          end in status 30 with that fail code (``#fail=`` for none)
``#hold``               stay at the first status until :meth:`FakeVideoUpstream.release`
``#items``              results (``item_list``) appear before the task completes
``#nourl=2``            the first 2 completed reads have no video URL
``#drop=3``             the first 3 status requests lose their connection without an answer
``#slow=1.5``           every status answer waits 1.5 s
``#expire=first``       the first video URL handed out has already expired (``always``: every one)
``#forget``             after the first read the task is gone
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import numpy as np

SUBMIT_PATH = "/v1/video/generate"
STATUS_PATH = "/mweb/v1/get_history_by_ids"
_DIRECTIVE = re.compile(r"#(\w+)(?:=([\w,.]*))?")
_SECRET = b"fake-upstream"


def tiny_mp4(frames: int = 12) -> bytes:
    """A real H.264 MP4: 64×48, ``frames`` frames at 12 fps, a colour ramp."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(frames):
            rgb = np.full((48, 64, 3), (index * 20 % 256, 90, 160), np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


@dataclass
class FakeTask:
    id: str
    body: dict[str, Any]
    steps: list[int]
    fail: str | None = None
    hold: bool = False
    items_early: bool = False
    no_url: int = 0
    expire: str = ""
    forget: bool = False
    drop: int = 0
    slow: float = 0.0
    dropped: int = 0
    reads: int = 0
    urls_given: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def from_body(cls, task_id: str, body: dict[str, Any]) -> FakeTask:
        found = dict(_DIRECTIVE.findall(str(body.get("prompt", ""))))
        steps = [int(s) for s in found.get("steps", "20,42,45,50").split(",") if s]
        fail = found.get("fail")
        if "fail" in found:
            steps = [*steps[:-1], 30] if steps[-1] in (10, 50) else [*steps, 30]
        return cls(task_id, body, steps, fail=fail if fail else None, hold="hold" in found,
                   items_early="items" in found, no_url=int(found.get("nourl") or 0),
                   expire=found.get("expire", ""), forget="forget" in found, drop=int(found.get("drop") or 0),
                   slow=float(found.get("slow") or 0))

    def status(self) -> int:
        if self.hold and not self.released.is_set():
            return self.steps[0]
        return self.steps[min(self.reads, len(self.steps) - 1)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a test ending, a server stopping) is not an error here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeVideoUpstream:
    """The fake API; ``url`` is its base. Use as a context manager."""

    def __init__(self) -> None:
        self.video = tiny_mp4()
        self.tasks: dict[str, FakeTask] = {}
        self.submits: list[dict[str, Any]] = []
        self.status_reads = 0
        self.downloads: list[int] = []  # HTTP status of each download
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next_id = 7535099487211244578
        handler = type("Handler", (_Handler,), {"fake": self})
        self._http = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def start(self) -> FakeVideoUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for task in self.tasks.values():
            task.released.set()
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> FakeVideoUpstream:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def release(self, task_id: str) -> None:
        """Let a ``#hold`` task go on along its steps."""
        self.tasks[task_id].released.set()

    def provider(self, **overrides: Any) -> dict[str, Any]:
        """An ``UpstreamVideoConfig`` (as JSON) for this fake, with fast polling."""
        config: dict[str, Any] = {
            "submit_url": f"{self.url}{SUBMIT_PATH}", "status_url": f"{self.url}{STATUS_PATH}",
            "status_method": "POST", "status_body": {"history_ids": ["{task_id}"]},
            "task_id_path": "data.aigc_data.history_record_id", "record_path": "data.{task_id}",
            "poll_interval_s": 0.02, "max_poll_interval_s": 0.05, "request_timeout_s": 2.0,
        }
        return {**config, **overrides}

    # -- behaviour ---------------------------------------------------------------------------------
    def submit(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.submits.append(body)
            if "#reject" in str(body.get("prompt", "")):
                return 400, {"ret": "1000", "errmsg": "invalid parameter"}
            self._next_id += 1
            task = FakeTask.from_body(str(self._next_id), body)
            self.tasks[task.id] = task
        return 200, {"ret": "0", "data": {"aigc_data": {"history_record_id": task.id}}}

    def record(self, task_id: str) -> dict[str, Any] | None:
        task = self.tasks.get(task_id)
        if task is None or (task.forget and task.reads > 0):
            return None
        status = task.status()
        if not (task.hold and not task.released.is_set()):
            task.reads += 1
        items: list[dict[str, Any]] = []
        if status in (10, 50) or (task.items_early and status == 45):
            items = [{"video": self._video_fields(task, status)}]
        return {"status": status, "fail_code": task.fail if status == 30 else "", "item_list": items}

    def _video_fields(self, task: FakeTask, status: int) -> dict[str, Any]:
        if status not in (10, 50):
            return {}
        if task.no_url > 0:
            task.no_url -= 1
            return {"duration": 1}
        task.urls_given += 1
        expired = task.expire == "always" or (task.expire == "first" and task.urls_given == 1)
        expires = int(time.time()) + (-60 if expired else 3600)
        return {"transcoded_video": {"origin": {"video_url": self.signed_url(task.id, expires)}}}

    def signed_url(self, task_id: str, expires: int) -> str:
        signature = hmac.new(_SECRET, f"{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:16]
        return f"{self.url}/files/{task_id}.mp4?exp={expires}&sig={signature}"

    def file(self, path: str, query: dict[str, list[str]]) -> int:
        match = re.fullmatch(r"/files/(\d+)\.mp4", path)
        expires, signature = query.get("exp", ["0"])[0], query.get("sig", [""])[0]
        if match is None or match.group(1) not in self.tasks:
            return 404
        good = hmac.new(_SECRET, f"{match.group(1)}:{expires}".encode(), hashlib.sha256).hexdigest()[:16]
        if not hmac.compare_digest(good, signature) or int(expires) < time.time():
            return 403
        return 200

    def pause(self, seconds: float) -> None:
        self._stop.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVideoUpstream
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        return body if isinstance(body, dict) else {}

    def do_POST(self) -> None:
        fake, path = self.fake, urlsplit(self.path).path
        if path == SUBMIT_PATH:
            self._json(*fake.submit(self._read()))
        elif path == STATUS_PATH:
            self._status(self._read())
        else:
            self._json(404, {"ret": "404"})

    def _status(self, body: dict[str, Any]) -> None:
        fake = self.fake
        ids = [str(i) for i in body.get("history_ids") or []]
        task = fake.tasks.get(ids[0]) if ids else None
        with fake._lock:
            fake.status_reads += 1
            dropping = task is not None and task.dropped < task.drop
            if dropping and task is not None:
                task.dropped += 1
        if dropping:  # the connection goes away without an answer
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if task is not None and task.slow:
            fake.pause(task.slow)
        records = {i: r for i in ids if (r := fake.record(i)) is not None}
        self._json(200, {"ret": "0", "data": records})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        status = self.fake.file(parts.path, parse_qs(parts.query))
        self.fake.downloads.append(status)
        if status != 200:
            self._json(status, {"error": "forbidden" if status == 403 else "not found"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(self.fake.video)))
        self.end_headers()
        self.wfile.write(self.fake.video)
