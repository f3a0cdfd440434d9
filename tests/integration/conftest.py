"""The job core in this process, on a fresh database per test (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from montage.domain.jobs import Job
from montage.engine.runtime import Engine
from montage.errors import MontageError
from montage.services.jobs import JobService, SubmitJob
from montage.services.runtime import Runtime
from montage.settings import Settings
from tests.support.databases import fresh_database
from tests.support.waiting import wait_for


@dataclass
class Core:
    runtime: Runtime
    engine: Engine
    jobs: JobService

    def submit(self, pipeline: str, job_input: dict[str, Any] | None = None, **kwargs: Any) -> Job:
        job, _ = self.jobs.submit(SubmitJob(pipeline=pipeline, input=job_input or {}, **kwargs))
        return job

    def wait_status(self, job_id: str, *statuses: str, timeout: float = 30.0) -> Job:
        return wait_for(lambda: (j := self.jobs.get(job_id)) and j.status.value in statuses and j,
                        timeout=timeout, what=f"{job_id} to reach {statuses}")

    def stage_runs(self, job_id: str, stage: str) -> list[str]:
        path = self.runtime.assets.job_dir(job_id) / stage / "runs.jsonl"
        return path.read_text().splitlines() if path.exists() else []


def make_settings(tmp: Path, url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": tmp / "data", "database_url": url, "queue_polling_interval_s": 0.02,
                              "long_queue_polling_interval_s": 0.05,
                              "executor_id": f"test-{uuid.uuid4().hex[:8]}", **overrides}
    return Settings(**values)


@pytest.fixture
def core_settings() -> dict[str, Any]:
    """Override in a test module to change the core's settings."""
    return {}


@pytest.fixture
def core(backend: str, tmp_path: Path, core_settings: dict[str, Any]) -> Iterator[Core]:
    with fresh_database(backend, tmp_path) as url:
        runtime = Runtime.open(make_settings(tmp_path, url, **core_settings))
        engine = Engine(runtime, role="serve", executes=True)
        engine.launch()
        core = Core(runtime=runtime, engine=engine, jobs=JobService(runtime, engine))
        try:
            yield core
        finally:
            drain(core)
            engine.shutdown()
            runtime.close()


def drain(core: Core) -> None:
    """Cancel what is still going and wait for every workflow to stop, so none outlives its
    database (DBOS would retry a vanished database for minutes)."""
    live, _ = core.jobs.list_jobs(statuses=["CREATED", "QUEUED", "RUNNING", "WAITING_APPROVAL"], limit=1000)
    for job in live:
        with contextlib.suppress(MontageError):
            core.jobs.cancel(job.id)
        if job.workflow_id:
            with contextlib.suppress(Exception):
                core.engine.wake(job.workflow_id)
    wait_for(lambda: not DBOS.list_workflows(status=["PENDING"], limit=1), timeout=60, interval=0.05,
             what="workflows to stop")
