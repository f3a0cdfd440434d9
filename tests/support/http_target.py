"""A tiny local HTTP server for health_check tasks: /ok, /fail, /slow?s=…, /flaky?key=…&n=…, and
/hold?key=… (answers only once :meth:`HttpTarget.release` is called for that key)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlparse


class _Handler(BaseHTTPRequestHandler):
    calls: ClassVar[Counter[str]] = Counter()
    lock: ClassVar[threading.Lock] = threading.Lock()
    holds: ClassVar[dict[str, threading.Event]] = {}

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        status = self._status(url.path, query)
        body = b"ok" if status < 400 else b"no"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _status(self, path: str, query: dict[str, str]) -> int:
        if path == "/slow":
            time.sleep(float(query.get("s", "1")))
            return 200
        if path == "/fail":
            return 500
        if path == "/hold":
            self.hold(query["key"]).wait(60)
            return 200
        if path == "/flaky":
            with self.lock:
                self.calls[query["key"]] += 1
                return 503 if self.calls[query["key"]] <= int(query.get("n", "1")) else 200
        return 200 if path == "/ok" else 404

    @classmethod
    def hold(cls, key: str) -> threading.Event:
        with cls.lock:
            return cls.holds.setdefault(key, threading.Event())

    def log_message(self, format: str, *args: object) -> None:
        pass


class HttpTarget:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpTarget:
        self.thread.start()
        return self

    def release(self, key: str) -> None:
        """Let the requests to ``/hold?key=<key>`` (and later ones) be answered."""
        _Handler.hold(key).set()

    def __exit__(self, *exc: object) -> None:
        for event in list(_Handler.holds.values()):
            event.set()
        self.server.shutdown()
        self.server.server_close()
