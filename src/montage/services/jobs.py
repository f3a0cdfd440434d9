"""Use cases of a client: submit, read, approve, reject, cancel, retry.

Facades and the CLI call these; nothing here knows about HTTP. Every write happens in one
transaction, so a refused request leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from montage.domain import access
from montage.domain.jobs import Approval, Artifact, Job, JobEvent, JobStatus, Priority, StageStatus
from montage.domain.pipelines import PipelineSpec, RetryPolicy, StageSpec
from montage.domain.servers import SERVER_QUEUE_PREFIX
from montage.errors import (
    NotCancelable,
    NotRetryable,
    NotWaitingApproval,
    ServiceUnavailable,
    ValidationFailed,
    WrongStage,
)
from montage.pipelines import all_pipelines, get_pipeline
from montage.services.capacity import Capacity
from montage.services.runtime import Runtime
from montage.services.webhooks import check_subscription
from montage.store import jobs as jobs_repo
from montage.store import records
from montage.store import webhooks as webhooks_repo
from montage.store.jobs import utcnow
from montage.store.models import JobRow


class Dispatcher(Protocol):
    """The durable engine as services see it."""

    def enqueue(self, job: Job) -> None: ...
    def cancel(self, workflow_id: str) -> None: ...
    def wake(self, workflow_id: str) -> None: ...


@dataclass(frozen=True)
class SubmitJob:
    pipeline: str
    input: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    priority: str | int | None = None
    schedule_for: datetime | None = None
    timeout_s: float | None = None
    idempotency_key: str | None = None
    owner: str = ""
    facade: str = "core"
    start: bool = True  # False: the job waits in CREATED until start_job (Rematrix's PENDING)
    queue: str | None = None  # None: the pipeline's queue
    retry: RetryPolicy | None = None  # None: each stage's own; else this policy for every stage of the job
    webhook_url: str | None = None  # POST the job's events here (signed; see services.webhooks)
    webhook_events: tuple[str, ...] | None = None  # which event types; None: all
    key_id: str | None = None  # the API key that owns it; None: the caller's (children take their parent's)


def new_job_id() -> str:
    return f"job_{uuid.uuid4().hex}"


def validation_error(exc: ValidationError, prefix: str = "") -> ValidationFailed:
    """A pydantic error as a ValidationFailed naming the first offending field."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "")
    return ValidationFailed(f"{where}: {first['msg']}" if where else first["msg"], field=where,
                            errors=[{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                                    for e in exc.errors()])


class JobService:
    def __init__(self, runtime: Runtime, dispatcher: Dispatcher) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.settings = runtime.settings
        self.dispatcher = dispatcher
        self.capacity = Capacity(runtime)

    # -- submit ----------------------------------------------------------------------
    def submit(self, request: SubmitJob) -> tuple[Job, bool]:
        """Create (and normally enqueue) a job; (job, created). A known idempotency key
        returns the job it created first, with created False."""
        spec = get_pipeline(request.pipeline)
        job_input = self._validated_input(spec, request.input)
        priority = Priority.parse(request.priority)
        timeout = self._timeout(request.timeout_s)
        request = dataclasses.replace(request, owner=_keyed_owner(request.owner))
        if request.idempotency_key:
            existing = self._by_key(request.owner, request.idempotency_key)
            if existing is not None:
                return existing, False
        hook = check_subscription(request.webhook_url, request.webhook_events) if request.webhook_url else None
        row = self._new_row(spec, request, job_input, priority, timeout)
        try:
            with self.db.transaction() as s:
                self.capacity.check(s)
                job = self._insert(s, row, _stages(spec, job_input, request.retry))
                if hook is not None:
                    webhooks_repo.subscribe(s, job.id, *hook)
        except IntegrityError:
            existing = self._by_key(request.owner, request.idempotency_key or "")
            if existing is None:
                raise
            return existing, False
        if request.start:
            self._dispatch(job)
        self.runtime.notify()
        return job, True

    def submit_many(self, requests: Sequence[SubmitJob]) -> list[Job]:
        """Create (and enqueue) several jobs in one transaction: all of them or, on any error,
        none. Idempotency keys are not looked up here (each request must be new)."""
        prepared: list[tuple[JobRow, list[StageSpec]]] = []
        for index, request in enumerate(requests):
            try:
                spec = get_pipeline(request.pipeline)
                job_input = self._validated_input(spec, request.input)
                row = self._new_row(spec, request, job_input, Priority.parse(request.priority),
                                    self._timeout(request.timeout_s))
            except ValidationFailed as exc:
                exc.details.setdefault("index", index)
                raise
            prepared.append((row, _stages(spec, job_input, request.retry)))
        with self.db.transaction() as s:
            self.capacity.check(s, adding=len(prepared))
            jobs = [self._insert(s, row, stages) for row, stages in prepared]
        for job, request in zip(jobs, requests, strict=True):
            if request.start:
                self._dispatch(job)
        self.runtime.notify()
        return jobs

    @staticmethod
    def _insert(s: Session, row: JobRow, stages: list[StageSpec]) -> Job:
        job = jobs_repo.insert_job(s, row, stages)
        records.append_event(s, row.id, "status", status=row.status, progress=0.0, message=row.message)
        return job

    def _validated_input(self, spec: PipelineSpec, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise ValidationFailed("input must be an object", field="input")
        if spec.input_model is None:
            return raw
        try:
            context = {"max_content_chars": self.settings.max_markdown_chars,
                       "max_duration_s": self.settings.max_media_duration_s}
            return spec.input_model.model_validate(raw, context=context).model_dump(mode="json")
        except ValidationError as exc:
            raise validation_error(exc, "input") from None

    def _timeout(self, timeout_s: float | None) -> float:
        if timeout_s is None:
            return self.settings.default_timeout_s
        if not 0 < timeout_s <= 30 * 24 * 3600:
            raise ValidationFailed("timeout_s must be between 0 and 2592000 seconds", field="timeout_s",
                                   received=timeout_s)
        return float(timeout_s)

    def _new_row(self, spec: PipelineSpec, request: SubmitJob, job_input: dict[str, Any],
                 priority: Priority, timeout: float) -> JobRow:
        now = utcnow()
        job_id = new_job_id()
        status = JobStatus.QUEUED if request.start else JobStatus.CREATED
        return JobRow(
            id=job_id, pipeline=spec.name, pipeline_version=spec.version, facade=request.facade,
            input=job_input, options=request.options, status=status.value, current_stage=None,
            progress=0.0, message="queued" if request.start else "created", priority=priority.value,
            queue=self._queue(spec, request.queue), attempts=1 if request.start else 0, timeout_s=timeout,
            schedule_for=request.schedule_for, idempotency_key=request.idempotency_key,
            owner=_keyed_owner(request.owner), key_id=request.key_id or access.creating_key(),
            workflow_id=job_id if request.start else None,
            created_at=now, updated_at=now,
        )

    def _queue(self, spec: PipelineSpec, queue: str | None) -> str:
        known = sorted({"default", spec.run_queue, *self.settings.queue_concurrency})
        if queue is None:
            return spec.run_queue
        if queue.startswith(SERVER_QUEUE_PREFIX):  # a processing server's own queue (services.servers)
            return queue
        if queue not in known:
            raise ValidationFailed(f"queue must be one of: {', '.join(known)}", field="queue", received=queue,
                                   allowed=known)
        return queue

    def _by_key(self, owner: str, key: str) -> Job | None:
        with self.db.read() as s:
            return jobs_repo.find_by_idempotency_key(s, owner, key)

    def _dispatch(self, job: Job) -> None:
        try:
            self.dispatcher.enqueue(job)
        except Exception as exc:
            self._fail_unqueued(job.id, exc)
            raise ServiceUnavailable("the job could not be queued; try again", job_id=job.id) from exc

    def _fail_unqueued(self, job_id: str, exc: Exception) -> None:
        try:
            with self.db.transaction() as s:
                jobs_repo.transition(s, job_id, JobStatus.FAILED, error_code="ENQUEUE_FAILED",
                                     error_message=str(exc), message="could not be queued")
        except Exception:  # the reconciler picks it up when the database is back
            pass

    def start(self, job_id: str) -> Job:
        """CREATED → QUEUED: start a job created with ``start=False`` (or reset by a retry)."""
        with self.db.transaction() as s:
            current = jobs_repo.load_job(s, job_id, with_stages=False)
            attempts = current.attempts + 1
            workflow_id = job_id if attempts == 1 else f"{job_id}.r{attempts}"
            job = jobs_repo.transition(s, job_id, JobStatus.QUEUED, workflow_id=workflow_id, message="queued",
                                       attempts=attempts)
            records.append_event(s, job_id, "status", status=job.status.value, progress=job.progress,
                                 message="queued", payload={"attempt": attempts})
        self._dispatch(job)
        self.runtime.notify()
        return self.get(job_id)

    # -- read --------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        with self.db.read() as s:
            return jobs_repo.load_job(s, job_id)

    def get_with_artifacts(self, job_id: str) -> tuple[Job, list[Artifact]]:
        """The job and its files, read in one snapshot."""
        with self.db.read() as s:
            return jobs_repo.load_job(s, job_id), records.list_artifacts(s, job_id)

    def list_jobs(self, *, statuses: list[str] | None = None, pipeline: str | None = None,
             facade: str | None = None, limit: int = 50, offset: int = 0,
             newest_first: bool = True) -> tuple[list[Job], int]:
        with self.db.read() as s:
            return jobs_repo.list_jobs(s, statuses=statuses or [], pipeline=pipeline, facade=facade,
                                       limit=limit, offset=offset, newest_first=newest_first)

    def artifacts(self, job_id: str) -> list[Artifact]:
        with self.db.read() as s:
            jobs_repo.load_job(s, job_id, with_stages=False)
            return records.list_artifacts(s, job_id)

    def approvals(self, job_id: str) -> list[Approval]:
        with self.db.read() as s:
            jobs_repo.load_job(s, job_id, with_stages=False)
            return records.list_approvals(s, job_id)

    def events_after(self, job_id: str, after_id: int, limit: int = 1000) -> list[JobEvent]:
        with self.db.read() as s:
            return records.events_after(s, job_id, after_id, limit)

    def pipelines(self) -> list[PipelineSpec]:
        return all_pipelines()

    # -- decisions -----------------------------------------------------------------------
    def approve(self, job_id: str, stage: str, comment: str | None = None) -> Job:
        return self._decide(job_id, stage, "APPROVED", None, comment)

    def reject(self, job_id: str, stage: str, reason: str, comment: str | None = None) -> Job:
        if not reason or not reason.strip():
            raise ValidationFailed("reason is required to reject a stage", field="reason")
        return self._decide(job_id, stage, "REJECTED", reason.strip(), comment)

    def _decide(self, job_id: str, stage: str, decision: str, reason: str | None, comment: str | None) -> Job:
        with self.db.transaction() as s:
            job = jobs_repo.load_job(s, job_id)
            self._check_gate(job, stage)
            row = jobs_repo.stage_row(s, job_id, stage)
            waited = utcnow() - (row.ended_at or job.updated_at)
            records.add_approval(s, job_id, stage, decision, reason, comment)
            if decision == "APPROVED":
                jobs_repo.update_stage(s, job_id, stage, status=StageStatus.SUCCEEDED.value)
            else:
                jobs_repo.update_stage(s, job_id, stage, status=StageStatus.PENDING.value,
                                       revision=row.revision + 1)
            deadline = (job.deadline_at + waited) if job.deadline_at else None  # waiting is not run time
            message = f"{stage} approved" if decision == "APPROVED" else f"{stage} rejected: {reason}"
            job = jobs_repo.transition(s, job_id, JobStatus.RUNNING, message=message, deadline_at=deadline)
            records.append_event(s, job_id, "approval", stage=stage, status=job.status.value,
                                 progress=job.progress, message=message,
                                 payload={"decision": decision, "reason": reason, "comment": comment})
        self._wake(job)
        return self.get(job_id)

    @staticmethod
    def _check_gate(job: Job, stage: str) -> None:
        if job.status != JobStatus.WAITING_APPROVAL:
            raise NotWaitingApproval(f"job is {job.status.value}, not WAITING_APPROVAL",
                                     job_id=job.id, status=job.status.value)
        if stage != job.current_stage:
            raise WrongStage(f"job is waiting for approval of {job.current_stage}, not {stage}",
                             field="stage", received=stage, expected=job.current_stage)

    def _wake(self, job: Job) -> None:
        self.runtime.notify()
        if job.workflow_id:
            with contextlib.suppress(Exception):  # the workflow also re-reads its gate every 30 s
                self.dispatcher.wake(job.workflow_id)

    # -- cancel and retry ----------------------------------------------------------------
    def cancel(self, job_id: str, reason: str = "canceled") -> Job:
        with self.db.transaction() as s:
            job = jobs_repo.load_job(s, job_id)
            if job.status.terminal:
                raise NotCancelable(f"job is {job.status.value} and cannot be canceled",
                                    job_id=job_id, status=job.status.value)
            for st in job.stages:
                if st.status in (StageStatus.RUNNING, StageStatus.WAITING_APPROVAL):
                    jobs_repo.update_stage(s, job_id, st.name, status=StageStatus.CANCELED.value,
                                           ended_at=utcnow())
            job = jobs_repo.transition(s, job_id, JobStatus.CANCELED, message=reason,
                                       error_code="CANCELED", error_message=reason)
            records.append_event(s, job_id, "canceled", stage=job.current_stage, status=job.status.value,
                                 progress=job.progress, message=reason)
        if job.workflow_id:
            with contextlib.suppress(Exception):  # the running stage sees CANCELED in the table anyway
                self.dispatcher.cancel(job.workflow_id)
        self.runtime.notify()
        return self.get(job_id)

    def retry(self, job_id: str, *, start: bool = True) -> Job:
        """FAILED or CANCELED → QUEUED (or CREATED when ``start`` is false, to be started later);
        finished stages keep their outputs and are skipped."""
        with self.db.transaction() as s:
            job = jobs_repo.load_job(s, job_id)
            if job.status not in (JobStatus.FAILED, JobStatus.CANCELED):
                raise NotRetryable(f"job is {job.status.value}; only FAILED or CANCELED jobs can be retried",
                                   job_id=job_id, status=job.status.value)
            for st in job.stages:
                if st.status in (StageStatus.FAILED, StageStatus.CANCELED, StageStatus.RUNNING):
                    jobs_repo.update_stage(s, job_id, st.name, status=StageStatus.PENDING.value)
            reset: dict[str, Any] = {"error_code": None, "error_message": None, "error_details": None,
                                     "ended_at": None, "deadline_at": None, "schedule_for": None}
            if start:
                attempts = job.attempts + 1
                job = jobs_repo.transition(s, job_id, JobStatus.QUEUED, attempts=attempts,
                                           workflow_id=f"{job_id}.r{attempts}", message="queued again", **reset)
            else:
                job = jobs_repo.transition(s, job_id, JobStatus.CREATED, message="ready to run again", **reset)
            records.append_event(s, job_id, "status", status=job.status.value, progress=job.progress,
                                 message=job.message, payload={"attempt": job.attempts})
        if start:
            self._dispatch(job)
        self.runtime.notify()
        return self.get(job_id)


def _keyed_owner(owner: str) -> str:
    """The owner a job is stored under: idempotency keys are per owner, so two API keys using
    the same Idempotency-Key get two jobs, never each other's."""
    key_id = access.creating_key()
    return owner if key_id is None or key_id in owner else f"{owner}@{key_id}"


def _stages(spec: PipelineSpec, job_input: dict[str, Any], retry: RetryPolicy | None) -> list[StageSpec]:
    stages = spec.stages_for(job_input)
    return stages if retry is None else [dataclasses.replace(st, retry=retry) for st in stages]


def parse_schedule(value: str | None) -> datetime | None:
    """An ISO 8601 time (with zone); None passes through."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed("schedule_for must be an ISO 8601 time", field="schedule_for",
                               received=value) from None
    if moment.tzinfo is None:
        raise ValidationFailed("schedule_for needs a time zone (e.g. 2025-07-28T14:30:00Z)",
                               field="schedule_for", received=value)
    return moment


def in_past(moment: datetime, slack_s: float = 5.0) -> bool:
    return moment < utcnow() - timedelta(seconds=slack_s)
