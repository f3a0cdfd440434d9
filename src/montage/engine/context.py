"""The engine's side of a running stage: what a generator sees as ``ctx``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from montage.errors import JobCanceled, JobTimedOut
from montage.generators.base import ArtifactRef
from montage.generators.standalone import file_digest, guess_mime, safe_relpath
from montage.services.execution import ExecutionService
from montage.services.stage_services import StageServices

_CANCEL_POLL_S = 0.2
_PROGRESS_MIN_INTERVAL_S = 0.1


@dataclass
class EngineStageContext:
    """A :class:`~montage.generators.base.StageContext` that records into the job's tables."""

    execution: ExecutionService
    job_id: str
    pipeline: str
    stage: str
    attempt: int
    input: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    feedback: str | None
    revision: int
    workdir: Path
    seed: int
    stage_index: int
    stage_count: int
    host: StageServices | None = None
    workflow_id: str | None = None  # the run this attempt belongs to: a later run supersedes it
    _last_check: float = field(default=0.0, init=False)
    _last_progress: float = field(default=0.0, init=False)

    def progress(self, percent: float, message: str = "") -> None:
        percent = max(0.0, min(100.0, float(percent)))
        now = time.monotonic()
        if percent < 100.0 and now - self._last_progress < _PROGRESS_MIN_INTERVAL_S:
            return
        self._last_progress = now
        overall = (self.stage_index + percent / 100.0) / max(1, self.stage_count) * 100.0
        self.execution.report_progress(self.job_id, self.stage, overall, message, percent, self.workflow_id)

    def log(self, text: str, level: str = "info") -> None:
        self.execution.log(self.job_id, self.stage, text, level)

    def path(self, relpath: str) -> Path:
        target = self.workdir / safe_relpath(relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add_artifact(self, relpath: str, role: str, mime: str | None = None) -> ArtifactRef:
        rel = safe_relpath(relpath)
        size, sha = file_digest(self.workdir / rel)
        ref = ArtifactRef(path=rel, role=role, mime=mime or guess_mime(rel), bytes=size, sha256=sha)
        self.execution.record_artifact(self.job_id, self.stage, ref)
        return ref

    def check_cancelled(self) -> None:
        now = time.monotonic()
        if now - self._last_check < _CANCEL_POLL_S:
            return
        self._last_check = now
        state = self.execution.interruption(self.job_id, self.workflow_id)
        if state == "canceled":
            raise JobCanceled()
        if state == "timeout":
            raise JobTimedOut()

    def setting(self, name: str, default: Any = None) -> Any:
        return self.execution.settings.generator_setting(name, default)

    def service(self, name: str) -> Any:
        if self.host is None:
            raise LookupError(f"no stage service {name!r}: this stage runs without host services")
        return self.host.get(name)
