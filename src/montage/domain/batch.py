"""Batch tasks and their executions.

A task names a workflow and its parameters; each execution runs it on one server. A batch over
folders has one item per matching sub-folder; the execution is one parent montage job and each
item a child job, so a restart resumes the batch without redoing finished items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from montage.errors import IllegalTransition, ValidationFailed

#: Parameters of a task that describe a folder batch rather than workflow inputs.
BATCH_KEYS = ("target_folders", "folder_keywords", "output_root")


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


#: The legal moves of an execution's status (the engine's and a client's, PUT …/status).
TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.PENDING: frozenset(ExecutionStatus) - {ExecutionStatus.PENDING},
    ExecutionStatus.RUNNING: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.COMPLETED,
                                        ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}),
    ExecutionStatus.COMPLETED: frozenset({ExecutionStatus.COMPLETED}),
    ExecutionStatus.FAILED: frozenset({ExecutionStatus.FAILED}),
    ExecutionStatus.CANCELLED: frozenset({ExecutionStatus.CANCELLED}),
}

#: Core job status → execution status.
FROM_JOB = {"CREATED": ExecutionStatus.PENDING, "QUEUED": ExecutionStatus.PENDING,
            "RUNNING": ExecutionStatus.RUNNING, "WAITING_APPROVAL": ExecutionStatus.RUNNING,
            "SUCCEEDED": ExecutionStatus.COMPLETED, "FAILED": ExecutionStatus.FAILED,
            "CANCELED": ExecutionStatus.CANCELLED}


def check_execution_transition(current: ExecutionStatus, target: ExecutionStatus) -> ExecutionStatus:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"an execution that is {current.value} cannot become {target.value}",
                                current=current.value, target=target.value,
                                allowed=sorted(s.value for s in TRANSITIONS[current]))
    return target


def parse_execution_status(value: object) -> ExecutionStatus:
    allowed = [s.value for s in ExecutionStatus]
    if not isinstance(value, str) or value not in allowed:
        raise ValidationFailed(f"status must be one of: {', '.join(allowed)} (got {value!r})", field="status",
                               received=value, allowed=allowed)
    return ExecutionStatus(value)


@dataclass(frozen=True)
class BatchExecution:
    id: int
    task_id: str
    server_id: int | None
    server_name: str
    status: ExecutionStatus
    job_id: str | None
    message: str
    progress: float  # 0–1: items ended / items
    result: dict[str, Any] | None
    error_message: str | None
    plan: dict[str, Any]  # what runs: workflow snapshot, folders, output root, parameters
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BatchTask:
    id: str
    name: str
    description: str
    workflow_id: int | None
    workflow_name: str
    parameters: dict[str, Any]
    server_name: str | None
    created_at: datetime
    updated_at: datetime
    latest: BatchExecution | None = None


@dataclass(frozen=True)
class BatchItem:
    """One unit of a batch: a matching sub-folder (or, without folders, the task itself)."""

    index: int
    folder: str | None  # absolute path of the sub-folder
    name: str  # its name, and the folder its results go to under the output root
    output_dir: str | None


@dataclass
class ItemState:
    """How one item stands, as the parent job sees it."""

    index: int
    name: str
    folder: str | None
    job_id: str
    status: ExecutionStatus
    outputs: list[str] = field(default_factory=list)
    error: str | None = None

    def as_result(self) -> dict[str, Any]:
        return {"index": self.index, "folder": self.name, "path": self.folder, "status": self.status.value,
                "job_id": self.job_id, "outputs": self.outputs, "error": self.error}


def matches(name: str, keywords: list[str]) -> bool:
    """A folder name matches when it contains any keyword (case-insensitive); no keywords: all."""
    folded = name.casefold()
    return not keywords or any(k.casefold() in folded for k in keywords)


def unique_names(names: list[str]) -> list[str]:
    """The names, with ``-2``, ``-3``… added to repeats, so two items never share an output folder."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name.casefold(), 0) + 1
        seen[name.casefold()] = count
        out.append(name if count == 1 else f"{name}-{count}")
    return out


def summarise(states: list[ItemState]) -> dict[str, Any]:
    """The execution result: the seed's counters, plus every item's outcome."""
    done = [s for s in states if s.status.terminal]
    ok = [s for s in done if s.status == ExecutionStatus.COMPLETED]
    return {"processed_files": sum(len(s.outputs) for s in ok), "total": len(states), "finished": len(done),
            "success_count": len(ok), "fail_count": len(done) - len(ok), "items": [s.as_result() for s in states]}


def final_status(result: dict[str, Any]) -> ExecutionStatus:
    """Completed unless every item failed (a batch with some failures completes, naming them)."""
    total, failed = int(result.get("total", 0)), int(result.get("fail_count", 0))
    return ExecutionStatus.FAILED if total and failed == total else ExecutionStatus.COMPLETED
