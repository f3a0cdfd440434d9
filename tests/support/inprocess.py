"""The whole app in this process (lifespan, DBOS and all) on one SQLite database, for tests that
call it over ASGI with no server process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from montage.api.app import create_app
from montage.settings import Settings


@contextmanager
def running_app(data_dir: Path, **overrides: Any) -> Iterator[tuple[FastAPI, TestClient]]:
    """``create_app`` over a fresh data dir, started; a client that talks to it in-process."""
    values: dict[str, Any] = {"data_dir": data_dir, "queue_polling_interval_s": 0.02,
                              "executor_id": f"test-{uuid.uuid4().hex[:8]}", **overrides}
    app = create_app(Settings(**values))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield app, client
