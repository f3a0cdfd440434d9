"""A real server process per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from montage.client import MontageClient
from tests.support.databases import fresh_database
from tests.support.server import ServerProcess


@pytest.fixture
def server(backend: str, tmp_path: Path) -> Iterator[ServerProcess]:
    with fresh_database(backend, tmp_path) as url:
        proc = ServerProcess(tmp_path / "data", url).start()
        try:
            yield proc
        finally:
            proc.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[MontageClient]:
    with MontageClient(server.url) as c:
        yield c
