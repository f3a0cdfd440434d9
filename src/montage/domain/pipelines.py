"""Pipeline definitions: an ordered list of stages bound to generators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

#: Queues of jobs that need an executor label: ``label:gpu`` is taken only by executors labelled gpu.
LABEL_QUEUE_PREFIX = "label:"


def label_queue(label: str) -> str:
    """The DBOS queue of jobs whose stages require executor label ``label``."""
    return f"{LABEL_QUEUE_PREFIX}{label}"


def queue_label(queue: str) -> str | None:
    """The label a queue needs (``label:gpu`` → ``gpu``), or None for a queue any executor takes."""
    return queue[len(LABEL_QUEUE_PREFIX):] if queue.startswith(LABEL_QUEUE_PREFIX) else None


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per stage run, with exponential backoff between them."""

    max_attempts: int = 3
    backoff_s: float = 0.5
    backoff_rate: float = 2.0
    max_backoff_s: float = 30.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (2, 3, …)."""
        return min(self.max_backoff_s, self.backoff_s * self.backoff_rate ** max(0, attempt - 2))


@dataclass(frozen=True)
class StageSpec:
    name: str
    generator: str
    params: dict[str, Any] = field(default_factory=dict)
    approval: bool = False
    retry: RetryPolicy = RetryPolicy()
    server: str | None = None
    #: An executor label this stage needs (``montage worker --labels gpu``); None: any executor.
    requires: str | None = None


@dataclass(frozen=True)
class PipelineSpec:
    """A named, versioned pipeline.

    ``input_model`` validates a job's input; ``select_stages`` may narrow the stage list
    from the validated input (e.g. only the requested targets). ``queue`` names the
    DBOS queue its jobs run on.
    """

    name: str
    version: str
    description: str
    stages: tuple[StageSpec, ...]
    input_model: type[BaseModel] | None = None
    select_stages: Callable[[dict[str, Any]], list[str]] | None = None
    queue: str = "default"
    facade: str = "core"

    @property
    def run_queue(self) -> str:
        """The queue its jobs go to: the label queue of the label its stages require, else ``queue``.

        A job is one workflow on one executor, so every stage of it runs where the label is."""
        labels = sorted({s.requires for s in self.stages if s.requires})
        if len(labels) > 1:
            raise ValueError(f"pipeline {self.name} requires several executor labels: {labels}")
        return label_queue(labels[0]) if labels else self.queue

    def stages_for(self, job_input: dict[str, Any]) -> list[StageSpec]:
        if self.select_stages is None:
            return list(self.stages)
        wanted = set(self.select_stages(job_input))
        return [s for s in self.stages if s.name in wanted]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "queue": self.run_queue,
            "stages": [
                {"name": s.name, "generator": s.generator, "approval": s.approval} for s in self.stages
            ],
        }
