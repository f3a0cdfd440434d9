"""The real `montage serve` process, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.waiting import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """Starts, kills and restarts one server on a fixed port and data folder."""

    def __init__(self, data_dir: Path, database_url: str | None = None, *, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None, command: str = "serve") -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_args = extra_args or []
        self.env = env or {}
        self.command = command
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        args = [sys.executable, "-m", "montage.cli", self.command, "--data-dir", str(self.data_dir)]
        if self.command == "serve":
            args += ["--port", str(self.port)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        env = {**os.environ, "MONTAGE_QUEUE_POLLING_INTERVAL_S": "0.02",
               "MONTAGE_LONG_QUEUE_POLLING_INTERVAL_S": "0.05", **self.env}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([*args, *self.extra_args], stdout=log, stderr=subprocess.STDOUT, env=env)
        if self.command == "serve":
            wait_for(self._healthy, timeout=timeout, interval=0.1, what=f"server on {self.url}")
        return self

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""
