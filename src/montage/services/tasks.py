"""Use cases of the task-manager facade: typed tasks on the job core.

A task is a job of pipeline ``task.<task_type>`` whose input is ``{kb_id, payload}``; its
``max_retries`` becomes the retry policy of the job's stages (attempts = retries + 1, backoff
doubling from ``task_retry_backoff_s``). Files a task names are checked before it is created:
inside the allowed folders, of a supported type, readable (an encrypted PDF is refused).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from montage.domain.jobs import Job, JobStatus, Priority
from montage.domain.pipelines import RetryPolicy
from montage.domain.tasks import TaskView
from montage.errors import Conflict, JobNotFound, MontageError, ValidationFailed
from montage.generators.builtin.kb.batch import check_batch_files
from montage.generators.builtin.kb.extract import DocumentError, check_path, probe
from montage.generators.builtin.kb.payloads import task_input_model
from montage.pipelines.tasks import FACADE, TASK_TYPES, pipeline_name
from montage.services.jobs import JobService, SubmitJob, in_past, validation_error
from montage.services.task_stats import TaskStats
from montage.store import jobs as jobs_repo
from montage.store import records
from montage.store import tasks as tasks_repo

MAX_RETRIES = 10
MAX_TIMEOUT_S = 30 * 24 * 3600.0
MAX_BATCH = 1000


class NotProcessing(Conflict):
    """The task is not being processed."""

    code = "NOT_PROCESSING"


@dataclass(frozen=True)
class NewTask:
    task_type: str
    kb_id: str
    payload: dict[str, Any]
    priority: str | None = None
    max_retries: int = 3
    timeout_s: float = 300.0
    schedule_for: datetime | None = None


class TaskService:
    def __init__(self, jobs: JobService, stats: TaskStats | None = None) -> None:
        self.jobs = jobs
        self.runtime = jobs.runtime
        self.db = jobs.db
        self.settings = jobs.settings
        self.stats = stats or TaskStats(jobs.runtime)

    # -- create ------------------------------------------------------------------------
    def create(self, task: NewTask) -> TaskView:
        job, _ = self.jobs.submit(self.submit_request(task))
        return self.stats.view(job)

    def create_batch(self, tasks: Sequence[NewTask]) -> list[TaskView]:
        """Create every task or, if any is invalid, none (the error names its index)."""
        if not tasks:
            raise ValidationFailed("the batch is empty: send a list of tasks", field="body")
        if len(tasks) > MAX_BATCH:
            raise ValidationFailed(f"a batch holds at most {MAX_BATCH} tasks", field="body", received=len(tasks))
        requests = []
        for index, task in enumerate(tasks):
            try:
                requests.append(self.submit_request(task))
            except ValidationFailed as exc:
                field = f"[{index}].{exc.details.get('field', '')}".rstrip(".")
                raise ValidationFailed(f"task {index}: {exc.message}", code=exc.code,
                                       **{**exc.details, "field": field, "index": index}) from None
        return self.stats.views(self.jobs.submit_many(requests))

    def submit_request(self, task: NewTask, *, idempotency_key: str | None = None,
                       options: dict[str, Any] | None = None) -> SubmitJob:
        """Validate ``task`` into the core's submit request (raises ``ValidationFailed``)."""
        if task.task_type not in TASK_TYPES:
            raise ValidationFailed(f"task_type must be one of: {', '.join(TASK_TYPES)}", field="task_type",
                                   received=task.task_type, allowed=list(TASK_TYPES))
        priority = Priority.parse(task.priority)
        self._check_numbers(task)
        job_input = self._validated_input(task)
        self._check_files(task.task_type, job_input["payload"])
        return SubmitJob(
            pipeline=pipeline_name(task.task_type), input=job_input, priority=priority.value,
            options={"max_retries": task.max_retries, **(options or {})}, schedule_for=task.schedule_for,
            timeout_s=task.timeout_s, facade=FACADE, idempotency_key=idempotency_key,
            owner=FACADE if idempotency_key else "",
            retry=RetryPolicy(max_attempts=task.max_retries + 1, backoff_s=self.settings.task_retry_backoff_s),
        )

    @staticmethod
    def _check_numbers(task: NewTask) -> None:
        if not 0 <= task.max_retries <= MAX_RETRIES:
            raise ValidationFailed(f"max_retries must be between 0 and {MAX_RETRIES}", field="max_retries",
                                   received=task.max_retries)
        if not 0 < task.timeout_s <= MAX_TIMEOUT_S:
            raise ValidationFailed(f"timeout must be more than 0 and at most {MAX_TIMEOUT_S:.0f} seconds",
                                   field="timeout", received=task.timeout_s)
        if task.schedule_for is not None and in_past(task.schedule_for, slack_s=1.0):
            raise ValidationFailed("schedule_for is in the past; give a future time or leave it out",
                                   field="schedule_for", received=task.schedule_for.isoformat())

    @staticmethod
    def _validated_input(task: NewTask) -> dict[str, Any]:
        if not isinstance(task.payload, dict):
            raise ValidationFailed("payload must be an object", field="payload")
        try:
            model = task_input_model(task.task_type).model_validate({"kb_id": task.kb_id, "payload": task.payload})
        except ValidationError as exc:
            error = validation_error(exc)
            error.message = error.message.replace("Value error, ", "")
            raise error from None
        return model.model_dump(mode="json", exclude_none=True)

    def _check_files(self, task_type: str, payload: dict[str, Any]) -> None:
        limit = self.settings.max_document_bytes
        field = "payload.file_path"
        try:  # upload_roots resolves its folders on the file system: only for tasks that name files
            if task_type == "batch_processing":
                field = "payload.files" if payload.get("files") else "payload.folder"
                files = check_batch_files(payload, self.settings.upload_roots, limit)
                for path in files if payload.get("files") else []:
                    probe(path)
            elif payload.get("file_path") and task_type != "noop":
                probe(check_path(payload["file_path"], self.settings.upload_roots, limit))
        except DocumentError as exc:
            raise ValidationFailed(exc.message, code=exc.code, **{**exc.details, "field": field}) from None

    # -- read ----------------------------------------------------------------------------
    def task(self, task_id: str) -> Job:
        job = self.jobs.get(task_id)
        if job.facade != FACADE:
            raise JobNotFound(job_id=task_id)
        return job

    def get(self, task_id: str) -> TaskView:
        return self.stats.view(self.task(task_id))

    def list(self, *, page: int = 1, page_size: int = 20, sort_by: str = "created_at", descending: bool = True,
             **filters: Any) -> tuple[list[TaskView], int]:
        """A page of tasks; ``filters``: kb_id, statuses, pipelines, priorities."""
        with self.db.read() as s:
            jobs, total = tasks_repo.list_tasks(s, sort_by=sort_by, descending=descending, limit=page_size,
                                                offset=(page - 1) * page_size, **filters)
        return self.stats.views(jobs), total

    # -- change ----------------------------------------------------------------------------
    def cancel(self, task_id: str) -> Job:
        self.task(task_id)
        return self.jobs.cancel(task_id, reason="canceled by request")

    def retry(self, task_id: str) -> TaskView:
        self.task(task_id)
        return self.stats.view(self.jobs.retry(task_id))

    def report_progress(self, task_id: str, progress: float, message: str | None) -> TaskView:
        """A worker's report on a task it is processing."""
        if not 0 <= progress <= 100:
            raise ValidationFailed("progress must be between 0 and 100", field="progress", received=progress)
        with self.db.transaction() as s:
            job = jobs_repo.load_job(s, task_id, with_stages=False)
            if job.facade != FACADE:
                raise JobNotFound(job_id=task_id)
            if job.status != JobStatus.RUNNING:
                raise NotProcessing(f"task is {job.status.value.lower()}; progress is reported while it runs",
                                    job_id=task_id, status=job.status.value)
            fields: dict[str, Any] = {"progress": float(progress)}
            if message:
                fields["message"] = message
            jobs_repo.update_job(s, task_id, **fields)
            records.append_event(s, task_id, "progress", stage=job.current_stage, progress=float(progress),
                                 message=message or "", payload={"source": "api"})
        self.runtime.notify()
        return self.get(task_id)


class ChildTaskControl:
    """The ``tasks`` stage service: what a batch task uses to fan out (``ports.ChildTasks``)."""

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks
        self.jobs = tasks.jobs

    def submit_child(self, parent_id: str, key: str, task_type: str, payload: dict[str, Any]) -> str:
        """The child task for ``key`` of the parent, created on first call (same priority, kb_id and
        max_retries as the parent). Raises ``ValidationFailed`` if the child would be invalid."""
        parent = self.jobs.get(parent_id)
        task = NewTask(task_type=task_type, kb_id=parent.input["kb_id"], payload=payload,
                       priority=parent.priority.value, max_retries=int(parent.options.get("max_retries", 3)))
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        request = self.tasks.submit_request(task, idempotency_key=f"{parent_id}:{digest}",
                                            options={"parent_id": parent_id})
        job, _ = self.jobs.submit(dataclasses.replace(request, key_id=parent.key_id))  # the parent's key owns it
        return job.id

    def child_statuses(self, ids: Sequence[str]) -> dict[str, str]:
        with self.jobs.db.read() as s:
            found = tasks_repo.statuses_of(s, ids)
        return {i: found.get(i, JobStatus.FAILED.value) for i in ids}

    def retry_children(self, ids: Sequence[str]) -> int:
        ended = [i for i, s in self.child_statuses(ids).items() if s in (JobStatus.FAILED, JobStatus.CANCELED)]
        return sum(self._quietly(self.jobs.retry, i) for i in ended)

    def cancel_children(self, ids: Sequence[str]) -> int:
        running = [i for i, s in self.child_statuses(ids).items() if not JobStatus(s).terminal]
        return sum(self._quietly(self.jobs.cancel, i) for i in running)

    @staticmethod
    def _quietly(action: Any, job_id: str) -> int:
        with contextlib.suppress(MontageError):  # it moved on meanwhile: nothing to do
            action(job_id)
            return 1
        return 0

