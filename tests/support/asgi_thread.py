"""Run an ASGI app with uvicorn on 127.0.0.1 and a free port, in a background thread."""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn


class BackgroundServer:
    """``start()`` returns once the port accepts connections; ``stop()`` shuts it down."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BackgroundServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        # Listening before the thread starts: connections queue in the backlog until uvicorn
        # accepts them, so callers never wait for the server to come up.
        sock.listen(128)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
