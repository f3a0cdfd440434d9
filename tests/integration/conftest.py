"""The job core in this process, on a fresh database per test (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from montage.domain.jobs import Job
from montage.engine.runtime import Engine
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
        try:
            yield Core(runtime=runtime, engine=engine, jobs=JobService(runtime, engine))
        finally:
            engine.shutdown()
            runtime.close()
