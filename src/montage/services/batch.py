"""Use cases of batch tasks: check a server, start a batch over folders, task CRUD, executions.

Starting a run claims the server for the task (one task at a time per server, as the contract
has it), records an execution with a snapshot of what runs, and submits its parent job; all of
that or, on any error, none of it. The parent job (``batch.run``) and the ``batch`` stage service
(:mod:`montage.services.batch_host`) do the rest; :meth:`BatchService.reconcile` settles
executions whose job ended without saying so (a crash, a timeout) and frees their servers.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from montage.domain.batch import (
    BATCH_KEYS,
    FROM_JOB,
    BatchExecution,
    BatchTask,
    ExecutionStatus,
    check_execution_transition,
    parse_execution_status,
)
from montage.domain.servers import Server
from montage.domain.workflows import Workflow, WorkflowKind
from montage.errors import MontageError, ServerDisabled, ServerUnavailable, ValidationFailed
from montage.pipelines.batch import FACADE, RUN_PIPELINE
from montage.services.batch_folders import FolderRequest, check_folders
from montage.services.batch_host import BatchHost
from montage.services.jobs import JobService, SubmitJob
from montage.services.servers import ServerService
from montage.services.workflows import WorkflowService, checked
from montage.store import batch as repo
from montage.store import servers as servers_repo
from montage.store.jobs import utcnow

_UNSTARTED_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class BatchRequest:
    """The body of check-server and process (``parameters`` is montage's addition)."""

    workflow_name: Any
    target_folders: Any
    folder_keywords: Any
    selected_server: Any
    output_root: Any
    parameters: Any = None


@dataclass(frozen=True)
class NewTask:
    name: Any
    workflow_id: Any
    description: Any = None
    parameters: Any = None


class BatchService:
    def __init__(self, jobs: JobService, servers: ServerService, workflows: WorkflowService) -> None:
        self.jobs = jobs
        self.db = jobs.db
        self.settings = jobs.settings
        self.servers = servers
        self.workflows = workflows

    # -- check-server and process --------------------------------------------------------------
    def check_server(self, request: BatchRequest) -> Server:
        """The server, if a batch could start on it now; else why not."""
        return self._prepare(request)[0]

    def process(self, request: BatchRequest) -> tuple[BatchTask, BatchExecution]:
        server, workflow, folders = self._prepare(request)
        task_id = str(uuid.uuid4())
        new_task = {"id": task_id, "name": f"{workflow.name} on {server.name}", "description": "",
                    "workflow_id": workflow.id, "workflow_name": workflow.name, "server_name": server.name,
                    "parameters": {**folders.as_plan(), **_parameters(request.parameters)}}
        execution = self._start(task_id, server, workflow, folders, _parameters(request.parameters),
                                new_task=new_task)
        return self.get_task(task_id), execution

    def _prepare(self, request: BatchRequest) -> tuple[Server, Workflow, FolderRequest]:
        """404 for an unknown server or workflow; 400 for bad input or a disabled server; 503 when
        the server is not online or is processing another task."""
        server = self.servers.get(_text(request.selected_server, "selected_server"))
        workflow = self.workflows.runnable(_text(request.workflow_name, "workflow_name"))
        _check_fits(workflow, server)
        folders = check_folders(request.target_folders, request.folder_keywords, request.output_root,
                                self.settings.upload_roots)
        _parameters(request.parameters)
        return self._usable(server), workflow, folders

    def _usable(self, server: Server) -> Server:
        server = self.servers.refresh_if_unchecked(server)
        if not server.enabled:
            raise ServerDisabled(f"server {server.name!r} is disabled", server=server.name)
        reason = server.unavailable_reason()
        if reason is not None:
            raise ServerUnavailable(reason, server=server.name, status=server.status.value,
                                    current_task_id=server.current_task_id)
        return server

    def _start(self, task_id: str, server: Server, workflow: Workflow, folders: FolderRequest | None,
               parameters: dict[str, Any], *, new_task: dict[str, Any] | None = None) -> BatchExecution:
        plan = {"workflow": {key: getattr(workflow, key) for key in ("id", "name", "version", "workflow_config",
                                                                      "input_mapping", "output_mapping")},
                "server_name": server.name, "server_type": server.type.value,
                "folders": folders.as_plan() if folders else None,
                "parameters": {**workflow.parameters, **parameters},
                "task_name": (new_task or {}).get("name") or workflow.name}
        with self.db.transaction() as s:
            if new_task is not None:
                repo.insert_task(s, **new_task)
            if not servers_repo.claim(s, server.id, task_id):
                current = servers_repo.load_server(s, server.id)
                raise ServerUnavailable(current.unavailable_reason() or f"server {server.name!r} is not available",
                                        server=server.name)
            execution = repo.insert_execution(s, task_id=task_id, server_id=server.id, server_name=server.name,
                                              status=ExecutionStatus.PENDING.value, plan=plan,
                                              message="waiting to start")
        try:
            job, _ = self.jobs.submit(SubmitJob(
                pipeline=RUN_PIPELINE, input={"execution_id": execution.id, "task_id": task_id}, facade=FACADE,
                owner="batch", idempotency_key=f"execution:{execution.id}", timeout_s=self.settings.batch_timeout_s))
        except Exception:
            self._undo_start(task_id, server.name, execution.id, new_task is not None)
            raise
        with self.db.transaction() as s:
            repo.update_execution(s, execution.id, job_id=job.id)
            return repo.load_execution(s, execution.id)

    def _undo_start(self, task_id: str, server_name: str, execution_id: int, new_task: bool) -> None:
        with self.db.transaction() as s:
            servers_repo.release(s, server_name, task_id)
            if new_task:
                repo.delete_task(s, task_id)
            else:
                repo.update_execution(s, execution_id, status=ExecutionStatus.FAILED.value,
                                      error_message="the run could not be queued", finished_at=utcnow())

    # -- tasks ---------------------------------------------------------------------------------
    def create_task(self, new: NewTask) -> BatchTask:
        name = checked({"name": new.name})["name"]
        description = checked({"description": new.description or ""})["description"]
        if isinstance(new.workflow_id, bool) or not isinstance(new.workflow_id, int):
            raise ValidationFailed(f"workflow_id must be an integer (got {new.workflow_id!r})", field="workflow_id")
        workflow = self.workflows.get(new.workflow_id)
        with self.db.transaction() as s:
            task = repo.insert_task(s, id=str(uuid.uuid4()), name=name, description=description,
                                    workflow_id=workflow.id, workflow_name=workflow.name, server_name=None,
                                    parameters=_parameters(new.parameters))
        return task

    def get_task(self, task_id: str) -> BatchTask:
        with self.db.read() as s:
            task = repo.load_task(s, task_id)
            return replace(task, latest=task.latest and self._effective(s, task.latest))

    def list_tasks(self, *, skip: int = 0, limit: int = 100) -> list[BatchTask]:
        with self.db.read() as s:
            return [replace(t, latest=t.latest and self._effective(s, t.latest))
                    for t in repo.list_tasks(s, skip=skip, limit=limit)]

    def update_task(self, task_id: str, changes: dict[str, Any]) -> BatchTask:
        fields: dict[str, Any] = {}
        if changes.get("name") is not None:
            fields["name"] = checked({"name": changes["name"]})["name"]
        if changes.get("description") is not None:
            fields["description"] = checked({"description": changes["description"]})["description"]
        if changes.get("parameters") is not None:
            fields["parameters"] = _parameters(changes["parameters"])
        with self.db.transaction() as s:
            repo.load_task(s, task_id)
            repo.update_task(s, task_id, **fields)
        return self.get_task(task_id)

    def delete_task(self, task_id: str) -> None:
        """Delete a task and its executions; a run still going is cancelled first."""
        task = self.get_task(task_id)
        if task.latest is not None and not task.latest.status.terminal:
            self._stop(task.latest, "the task was deleted")
        with self.db.transaction() as s:
            for server in servers_repo.held_servers(s):
                if server.current_task_id == task_id:
                    servers_repo.release(s, server.name, task_id)
            repo.delete_task(s, task_id)

    # -- executions ----------------------------------------------------------------------------
    def execute(self, task_id: str, server_key: Any) -> BatchExecution:
        """Run the task's workflow on a server; folders come from the task's parameters
        (``target_folders``, ``folder_keywords``, ``output_root``) when it has them."""
        task = self.get_task(task_id)
        if server_key is None or isinstance(server_key, bool):
            raise ValidationFailed("server_id is required", field="server_id")
        server = self.servers.get(server_key)
        workflow = self.workflows.runnable(task.workflow_id if task.workflow_id is not None else task.workflow_name)
        _check_fits(workflow, server)
        params = dict(task.parameters)
        folders = None
        if params.get("target_folders") is not None:
            folders = check_folders(params.get("target_folders"), params.get("folder_keywords"),
                                    params.get("output_root"), self.settings.upload_roots, output_required=False)
        inputs = {k: v for k, v in params.items() if k not in BATCH_KEYS}
        return self._start(task_id, self._usable(server), workflow, folders, inputs)

    def executions(self, task_id: str, *, skip: int = 0, limit: int = 100) -> list[BatchExecution]:
        with self.db.read() as s:
            repo.load_task(s, task_id)
            return [self._effective(s, e) for e in repo.list_executions(s, task_id, skip=skip, limit=limit)]

    def get_execution(self, execution_id: int) -> BatchExecution:
        with self.db.read() as s:
            return self._effective(s, repo.load_execution(s, execution_id))

    def set_execution_status(self, execution_id: int, status: Any, error_message: Any = None,
                             result: Any = None) -> BatchExecution:
        """A client's word on an execution. An ended status stops the run if it is still going."""
        target = parse_execution_status(status)
        if result is not None and not isinstance(result, dict):
            raise ValidationFailed("result must be an object", field="result")
        current = self.get_execution(execution_id)
        check_execution_transition(current.status, target)
        fields: dict[str, Any] = {"status": target.value, "message": f"marked {target.value}"}
        fields |= {"error_message": str(error_message)} if error_message is not None else {}
        fields |= {"result": result} if result is not None else {}
        if target.terminal and current.finished_at is None:
            fields["finished_at"] = utcnow()
        if target == ExecutionStatus.RUNNING and current.started_at is None:
            fields["started_at"] = utcnow()
        with self.db.transaction() as s:
            repo.update_execution(s, execution_id, **fields)
        if target.terminal:
            self._stop(current, f"execution marked {target.value}")
        return self.get_execution(execution_id)

    def _stop(self, execution: BatchExecution, reason: str) -> None:
        if execution.job_id is not None:
            with contextlib.suppress(MontageError):  # it had ended already
                self.jobs.cancel(execution.job_id, reason)
        BatchHost(self.jobs).cancel_items(execution.id, reason)
        with self.db.transaction() as s:
            servers_repo.release(s, execution.server_name, execution.task_id)

    def _effective(self, s: Session, execution: BatchExecution) -> BatchExecution:
        """The execution as its parent job says, when the job ended without recording it."""
        if execution.status.terminal or execution.job_id is None:
            return execution
        job = repo.job_status(s, execution.job_id)
        if job is None or FROM_JOB[job[0]] in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING):
            return execution
        status = FROM_JOB[job[0]]
        return replace(execution, status=status, error_message=execution.error_message or job[1],
                       finished_at=execution.finished_at or execution.updated_at)

    # -- settling what the engine left --------------------------------------------------------
    def reconcile(self) -> int:
        """Record the end of executions whose job ended without doing so, fail those whose job was
        never queued, and free servers no open execution holds; how many things changed."""
        with self.db.read() as s:
            open_executions = repo.open_executions(s)
        changed = sum(self._settle(e) for e in open_executions)
        for server in self.servers.held():
            task_id = server.current_task_id or ""
            with self.db.read() as s:
                running = [e for e in repo.open_executions_on(s, task_id, server.name)
                           if not self._effective(s, e).status.terminal]
            if not running:  # a run that starts claims its server and records itself in one transaction
                with self.db.transaction() as s:
                    changed += servers_repo.release(s, server.name, task_id)
        return changed

    def _settle(self, execution: BatchExecution) -> int:
        with self.db.read() as s:
            effective = self._effective(s, execution)
        stale = execution.job_id is None and utcnow() - execution.created_at > _UNSTARTED_GRACE
        if not effective.status.terminal and not stale:
            return 0  # the usual tick: reads only
        status = effective.status if effective.status.terminal else ExecutionStatus.FAILED
        with self.db.transaction() as s:
            repo.update_execution(s, execution.id, only_if_open=True, status=status.value,
                                  error_message=effective.error_message or "the run never started",
                                  finished_at=utcnow())
            servers_repo.release(s, execution.server_name, execution.task_id)
        return 1


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise ValidationFailed(f"{field} is required", field=field, received=value)
    return str(value).strip()


def _parameters(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed("parameters must be an object", field="parameters")
    return dict(value)


#: Which workflow kinds a server type runs.
_RUNS_ON = {WorkflowKind.LOCAL: "local", WorkflowKind.COMFYUI: "comfyui", WorkflowKind.HTTP: "http"}


def _check_fits(workflow: Workflow, server: Server) -> None:
    wanted = _RUNS_ON[workflow.kind]
    if server.type.value != wanted:
        raise ValidationFailed(
            f"workflow {workflow.name!r} ({workflow.kind.value} workflow) runs on a {wanted} server; "
            f"server {server.name!r} is {server.type.value}", field="selected_server",
            workflow_kind=workflow.kind.value, server_type=server.type.value)
