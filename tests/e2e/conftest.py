"""A real server process per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from montage.client import MontageClient
from tests.support.databases import fresh_database
from tests.support.server import ServerProcess


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment of the server process; override in a test module (e.g. tokens, upstreams)."""
    return {}


@pytest.fixture
def server(backend: str, tmp_path: Path, server_env: dict[str, str]) -> Iterator[ServerProcess]:
    with fresh_database(backend, tmp_path) as url:
        proc = ServerProcess(tmp_path / "data", url, env=server_env)
        try:
            yield proc.start()
        finally:  # also when start() timed out: no orphan server
            proc.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[MontageClient]:
    with MontageClient(server.url) as c:
        yield c
