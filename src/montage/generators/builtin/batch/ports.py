"""What batch generators ask of the host, through ``ctx.service("batch")``.

``montage.services.batch_host`` provides it in a worker; a test may give a
:class:`~montage.generators.standalone.StandaloneContext` its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from montage.generators.base import StageContext

BATCH = "batch"


@dataclass(frozen=True)
class RunPlan:
    """The items of one execution, found when it starts (the same again if it resumes)."""

    items: list[dict[str, Any]]
    message: str = ""


@dataclass(frozen=True)
class ItemSpec:
    """What an item runs: the workflow as it was when the execution started, and where."""

    server_name: str
    workflow_config: dict[str, Any]
    input_mapping: dict[str, Any]
    output_mapping: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    """A server that takes work now."""

    name: str
    url: str
    type: str


@dataclass(frozen=True)
class Progress:
    finished: int
    total: int
    message: str


class BatchControl(Protocol):
    """The parent job's and the items' side of a batch execution."""

    def start_run(self, execution_id: int) -> RunPlan: ...
    def submit_items(self, parent_job_id: str, execution_id: int, items: list[dict[str, Any]]) -> list[str]: ...
    def item_statuses(self, execution_id: int) -> tuple[tuple[str, int], ...]: ...
    def record_progress(self, execution_id: int) -> Progress: ...
    def finish_run(self, execution_id: int, note: str = "") -> dict[str, Any]: ...
    def cancel_items(self, execution_id: int, reason: str) -> int: ...
    def item_spec(self, execution_id: int) -> ItemSpec: ...
    def wait_for_server(self, name: str, check_cancelled: Callable[[], None]) -> Endpoint: ...


def batch_control(ctx: StageContext) -> BatchControl:
    return cast(BatchControl, ctx.service(BATCH))
