"""A local webhook receiver: records every delivery (headers and raw body); answers 500 to the
first ``fail_first`` deliveries of each webhook-id, 200 after; ``/redirect`` answers a redirect."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    fail_first: int = 0
    redirect_to: str = "http://169.254.169.254/latest/meta-data/"
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self
        tries: Counter[str] = Counter()
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body))
                    tries[self.headers.get("webhook-id", "")] += 1
                    status = 500 if tries[self.headers.get("webhook-id", "")] <= receiver.fail_first else 200
                self._answer(status)

            def do_GET(self) -> None:
                if self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._answer(200)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def of_job(self, job_id: str) -> list[Received]:
        return [r for r in list(self.received) if job_id.encode() in r.body]
