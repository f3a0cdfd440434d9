"""Pipeline definitions: an ordered list of stages bound to generators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


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
            "queue": self.queue,
            "stages": [
                {"name": s.name, "generator": s.generator, "approval": s.approval} for s in self.stages
            ],
        }
