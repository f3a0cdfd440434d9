"""The task-manager facade's services in this process, and how its clients name a field."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request

from montage.api.deps import Services
from montage.services.kb import KnowledgeService
from montage.services.task_stats import TaskStats
from montage.services.tasks import TaskService

log = logging.getLogger("montage.api.tasks")


@dataclass
class TaskServices:
    tasks: TaskService
    stats: TaskStats
    knowledge: KnowledgeService

    @classmethod
    def build(cls, services: Services) -> TaskServices:
        stats = TaskStats(services.runtime)
        return cls(tasks=TaskService(services.jobs, stats), stats=stats,
                   knowledge=KnowledgeService(services.runtime))


def task_services(request: Request) -> TaskServices:
    svc: TaskServices = request.app.state.task_services
    return svc


def task_field(loc: Sequence[str | int]) -> str:
    """A field as the contract's clients name it: ``payload.text``, ``[0].task_type`` in a batch,
    a query parameter by its bare name."""
    parts = [p for p in loc if p not in ("body", "query", "path")]
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
