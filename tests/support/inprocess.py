"""The whole app in this process (lifespan, DBOS and all) on one SQLite database, for tests that
call it over ASGI with no server process."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dbos import DBOS
from fastapi import FastAPI
from fastapi.testclient import TestClient

from montage.api.app import create_app
from montage.errors import MontageError
from montage.settings import Settings
from tests.support.waiting import wait_for

LIVE = ["CREATED", "QUEUED", "RUNNING", "WAITING_APPROVAL"]


@contextmanager
def running_app(data_dir: Path, **overrides: Any) -> Iterator[tuple[FastAPI, TestClient]]:
    """``create_app`` over a fresh data dir, started; a client that talks to it in-process. On the
    way out, jobs still going are canceled and every workflow is let stop before DBOS is (a
    workflow outliving DBOS fails noisily)."""
    values: dict[str, Any] = {"data_dir": data_dir, "queue_polling_interval_s": 0.02,
                              "executor_id": f"test-{uuid.uuid4().hex[:8]}", **overrides}
    app = create_app(Settings(**values))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        try:
            yield app, client
        finally:
            jobs = app.state.services.jobs
            for job in jobs.list_jobs(statuses=LIVE, limit=1000)[0]:
                with contextlib.suppress(MontageError):
                    jobs.cancel(job.id)
            wait_for(lambda: not DBOS.list_workflows(status=["PENDING"], limit=1), timeout=60, interval=0.05,
                     what="workflows to stop")
