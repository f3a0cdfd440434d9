"""Use cases of a running job, called by the durable workflow's steps.

Every method is safe to run again after a crash (a recovered step repeats it): each
checks the state it would change before changing it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from montage.assets.store import AssetStore, build_manifest
from montage.domain.jobs import Artifact, Job, JobState, JobStatus, StageRun, StageStatus
from montage.errors import IllegalTransition, JobNotFound
from montage.generators.base import ArtifactRef
from montage.services.interruptions import JobInterruptions
from montage.services.runtime import Runtime
from montage.store import jobs as jobs_repo
from montage.store import records
from montage.store.jobs import utcnow


@dataclass(frozen=True)
class StageStart:
    """A stage attempt the workflow is to run now: the job, the stage, where it stands."""

    job: Job
    stage: StageRun
    params: dict[str, Any]
    index: int
    count: int


@dataclass(frozen=True)
class Decision:
    """Where a gate stands: pending, approved, rejected, canceled or timeout."""

    outcome: str
    feedback: str | None = None


class ExecutionService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.settings = runtime.settings
        self.assets: AssetStore = runtime.assets
        self.interruptions: JobInterruptions | None = None  # set by an executing engine

    # -- job lifecycle -------------------------------------------------------------
    def start_next_stage(self, job_id: str, worker_id: str, workflow_id: str | None = None,
                         first: Sequence[tuple[str, str]] = ()) -> StageStart | dict[str, Any]:
        """Start the job's next stage in one transaction: QUEUED → RUNNING first if the job has
        not begun, the stage marked running. When no stage is to run now, the outcome instead:
        ``gate`` (waiting for a decision), ``done`` (all stages finished: the job has just
        succeeded), ``canceled``, ``timeout`` or ``ended`` (finished earlier, or, with
        ``workflow_id``, another run owns the job now).

        ``first``: (job id, workflow id) of queued jobs ahead of this one that this executor has
        claimed, in queue order. On the job's first start they are marked started before it,
        so jobs dequeued together start in queue order whichever thread comes first
        (``engine.start_order``); their own threads find them started and run them."""
        with self.db.transaction() as s:
            job = jobs_repo.load_job(s, job_id)
            if workflow_id is not None and job.workflow_id != workflow_id:
                return {"status": "ended", "stage": job.current_stage}
            if job.status == JobStatus.QUEUED:
                if first:
                    self._mark_started(s, first, worker_id)
                job = self._started(s, job, worker_id)
            elif job.worker_id != worker_id and not job.status.terminal:
                self._resumed_on(s, job, worker_id)
            result = self._next(s, job)
        self.runtime.notify()
        return result

    def _mark_started(self, s: Session, jobs: Sequence[tuple[str, str | None]], worker_id: str) -> None:
        """QUEUED → RUNNING on ``worker_id``, in the order given, for each (job id, workflow id)
        still queued for that workflow: the job behind one may have started it meanwhile (or
        someone canceled it)."""
        queued = jobs_repo.load_jobs_in(s, [job_id for job_id, _ in jobs], JobStatus.QUEUED)
        for job_id, workflow_id in jobs:
            job = queued.get(job_id)
            if job is not None and job.workflow_id == workflow_id:
                self._started(s, job, worker_id)

    def _started(self, s: Session, job: Job, worker_id: str) -> Job:
        """The queued ``job`` as it starts running on ``worker_id``; if it is no longer queued
        (PostgreSQL: another transaction moved it after it was read here), as it is now."""
        now = utcnow()
        try:
            started = jobs_repo.transition(s, job.id, JobStatus.RUNNING, current=job, worker_id=worker_id,
                                           started_at=job.started_at or now,
                                           deadline_at=now + timedelta(seconds=job.timeout_s), message="running")
        except IllegalTransition:
            return jobs_repo.load_job(s, job.id)
        self._status_event(s, started)
        return dataclasses.replace(started, stages=job.stages)

    @staticmethod
    def _resumed_on(s: Session, job: Job, worker_id: str) -> None:
        """A recovered workflow runs on another executor (its own died or stopped): say where."""
        jobs_repo.update_job(s, job.id, worker_id=worker_id)
        text = f"resumed on executor {worker_id} (was {job.worker_id})"
        records.append_event(s, job.id, "log", stage=job.current_stage, message=text,
                             payload={"level": "warning", "text": text, "executor": worker_id,
                                      "previous_executor": job.worker_id})

    def _next(self, s: Session, job: Job) -> StageStart | dict[str, Any]:
        outcome = self._interruption(job) or ("gate" if job.status == JobStatus.WAITING_APPROVAL else None)
        if outcome:
            return {"status": outcome, "stage": job.current_stage}
        index, stage = next(((i, st) for i, st in enumerate(job.stages)
                             if st.status != StageStatus.SUCCEEDED), (len(job.stages), None))
        if stage is None:
            return self._finish(s, job)
        if stage.status == StageStatus.WAITING_APPROVAL:  # finished, its gate not yet opened
            return self._open_gate(s, job, stage.name)
        return self._mark_running(s, job, stage, index)

    def _mark_running(self, s: Session, job: Job, stage: StageRun, index: int) -> StageStart:
        attempt = stage.attempts + 1
        params = jobs_repo.start_stage(s, job.id, stage.name, status=StageStatus.RUNNING.value, attempts=attempt,
                                       started_at=utcnow(), error_code=None, error_message=None)
        jobs_repo.update_job(s, job.id, current_stage=stage.name, message=f"running {stage.name}")
        records.append_event(s, job.id, "stage", stage=stage.name, status=job.status.value,
                             progress=job.progress, message=f"running {stage.name}",
                             payload={"state": "started", "attempt": attempt})
        running = dataclasses.replace(stage, status=StageStatus.RUNNING, attempts=attempt)
        return StageStart(job=job, stage=running, params=params, index=index, count=len(job.stages))

    def _finish(self, s: Session, job: Job) -> dict[str, Any]:
        job = jobs_repo.transition(s, job.id, JobStatus.SUCCEEDED, current=job, progress=100.0, message="done",
                                   current_stage=None)
        self._status_event(s, job, kind="done")
        self._write_manifest(s, job)  # before the commit: a client that sees SUCCEEDED finds it
        return {"status": "done", "stage": None}

    def _open_gate(self, s: Session, job: Job, stage: str) -> dict[str, Any]:
        job = jobs_repo.transition(s, job.id, JobStatus.WAITING_APPROVAL, current=job, current_stage=stage,
                                   message=f"waiting for approval of {stage}")
        self._status_event(s, job)
        return {"status": "gate", "stage": stage}

    def fail_job(self, job_id: str, code: str, message: str, details: dict[str, Any] | None = None) -> str:
        with self.db.transaction() as s:
            job = jobs_repo.load_job(s, job_id, with_stages=False)
            if job.status.terminal:
                return job.status.value
            job = jobs_repo.transition(s, job_id, JobStatus.FAILED, error_code=code, error_message=message,
                                       error_details=details or {}, message=message)
            records.append_event(s, job_id, "failed", stage=job.current_stage, status=job.status.value,
                                 progress=job.progress, message=message,
                                 payload={"code": code, "detail": message, **(details or {})})
            self._write_manifest(s, job)
        self.runtime.notify()
        return JobStatus.FAILED.value

    # -- stages --------------------------------------------------------------------
    def complete_stage(self, start: StageStart, outputs: dict[str, Any]) -> dict[str, Any]:
        """Record a finished stage attempt and, in the same transaction, what follows from it:
        the job waits at the stage's gate, succeeds (it was the last stage) or goes on."""
        job_id, stage = start.job.id, start.stage
        status = StageStatus.WAITING_APPROVAL if stage.approval else StageStatus.SUCCEEDED
        with self.db.transaction() as s:
            job = jobs_repo.load_job(s, job_id, with_stages=False)
            if job.status != JobStatus.RUNNING:  # canceled (or timed out) while the stage ran
                return {"status": self._interruption(job) or "ended", "stage": stage.name}
            if job.workflow_id != start.job.workflow_id:  # canceled, then retried: another run owns it now
                return {"status": "ended", "stage": stage.name}
            jobs_repo.update_stage(s, job_id, stage.name, status=status.value, outputs=outputs,
                                   ended_at=utcnow())
            records.append_event(s, job_id, "stage", stage=stage.name, status=job.status.value,
                                 progress=job.progress, message=f"{stage.name} finished",
                                 payload={"state": "finished"})
            if stage.approval:
                outcome = self._open_gate(s, job, stage.name)
            elif start.index == start.count - 1:
                outcome = self._finish(s, job)
            else:
                outcome = {"status": "ok", "stage": stage.name}
        self.runtime.notify()
        return outcome

    def fail_stage(self, start: StageStart, code: str, message: str, will_retry: bool) -> None:
        job_id, stage = start.job.id, start.stage.name
        with self.db.transaction() as s:
            if jobs_repo.load_job(s, job_id, with_stages=False).workflow_id != start.job.workflow_id:
                return  # a superseded attempt (the job was canceled and retried meanwhile)
            jobs_repo.update_stage(s, job_id, stage, status=StageStatus.FAILED.value, error_code=code,
                                   error_message=message, ended_at=utcnow())
            text = f"{stage} failed: {message}" + (" (will retry)" if will_retry else "")
            records.append_event(s, job_id, "log", stage=stage, message=text,
                                 payload={"level": "error", "text": text, "code": code})
        self.runtime.notify()

    # -- approval gates --------------------------------------------------------------
    def gate_decision(self, job_id: str, stage: str) -> Decision:
        """Read the gate's state from the tables (the message that woke us is only a nudge)."""
        with self.db.read() as s:
            job = jobs_repo.load_job(s, job_id)
            row = jobs_repo.stage_row(s, job_id, stage)
            if job.status == JobStatus.CANCELED:
                return Decision("canceled")
            if job.status == JobStatus.WAITING_APPROVAL:
                expired = job.deadline_at is not None and utcnow() > job.deadline_at
                return Decision("timeout" if expired else "pending")
            if row.status == StageStatus.SUCCEEDED.value:
                return Decision("approved")
            if row.status == StageStatus.PENDING.value:
                rejections = [a for a in records.list_approvals(s, job_id)
                              if a.stage == stage and a.decision == "REJECTED"]
                return Decision("rejected", rejections[-1].reason if rejections else None)
            return Decision("pending")

    def feedback_for(self, job_id: str, stage: str) -> str | None:
        with self.db.read() as s:
            rejections = [a for a in records.list_approvals(s, job_id)
                          if a.stage == stage and a.decision == "REJECTED"]
        return rejections[-1].reason if rejections else None

    # -- reports from a running generator ----------------------------------------------
    def report_progress(self, job_id: str, stage: str, overall: float, message: str,
                        stage_percent: float | None = None, workflow_id: str | None = None) -> None:
        """Record a stage's progress; with ``workflow_id``, only while that run owns the job."""
        with self.db.transaction() as s:
            changed = jobs_repo.update_job(s, job_id, progress=overall, workflow_id_is=workflow_id,
                                           **({"message": message} if message else {}))
            if not changed:
                return
            records.append_event(s, job_id, "progress", stage=stage, progress=overall, message=message,
                                 payload={} if stage_percent is None else {"stage_percent": stage_percent})
        self.runtime.notify()

    def log(self, job_id: str, stage: str, text: str, level: str) -> None:
        with self.db.transaction() as s:
            records.append_event(s, job_id, "log", stage=stage, message=text,
                                 payload={"level": level, "text": text})
        self.runtime.notify()

    def record_artifact(self, job_id: str, stage: str, ref: ArtifactRef) -> None:
        artifact = Artifact(job_id=job_id, stage=stage, role=ref.role, path=ref.path, mime=ref.mime,
                            bytes=ref.bytes, sha256=ref.sha256, created_at=utcnow())
        self.assets.publish(job_id, ref.path)  # stored before any replica is told about it
        with self.db.transaction() as s:
            records.upsert_artifact(s, artifact)
            job = jobs_repo.load_job(s, job_id, with_stages=False)
            records.append_event(s, job_id, "asset", stage=stage, progress=job.progress,
                                 message=f"{ref.role} ready",
                                 payload={"role": ref.role, "path": f"/assets/{job_id}/{ref.path}",
                                          "mime": ref.mime, "bytes": ref.bytes})
        self.write_manifest(job_id)
        self.runtime.notify()

    def interruption(self, job_id: str, workflow_id: str | None = None) -> str | None:
        """"canceled" or "timeout" if the running job must stop, else None. With ``workflow_id``,
        also "canceled" once another run owns the job (it was canceled and retried).

        The executor's :class:`JobInterruptions` answers "go on" from memory when it read the
        job lately. A reading that says stop is confirmed from the table first: it may predate
        the retry that made this run the job's (an old run's workflow, its old deadline, its
        CANCELED status), and stopping a run wrongly would leave its job unfinished for good."""
        now = utcnow()
        state = self.interruptions.state(job_id) if self.interruptions is not None else None
        if state is not None and state.interruption(now, workflow_id) is None:
            return None
        with self.db.read() as s:
            state = jobs_repo.job_states(s, [job_id]).get(job_id)
        if state is None:
            raise JobNotFound(job_id=job_id)
        return state.interruption(utcnow(), workflow_id)

    @staticmethod
    def _interruption(job: Job) -> str | None:
        return JobState(job.status, job.workflow_id, job.deadline_at).interruption(utcnow())

    # -- shared ----------------------------------------------------------------------
    def write_manifest(self, job_id: str) -> None:
        with self.db.read() as s:
            self._write_manifest(s, jobs_repo.load_job(s, job_id, with_stages=False))

    def _write_manifest(self, s: Session, job: Job) -> None:
        self.assets.write_manifest(job.id, build_manifest(job, records.list_artifacts(s, job.id)))

    @staticmethod
    def _status_event(s: Session, job: Job, kind: str = "status") -> None:
        records.append_event(s, job.id, kind, stage=job.current_stage, status=job.status.value,
                             progress=job.progress, message=job.message)
