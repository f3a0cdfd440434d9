"""The task-manager facade's services in this process, and the route class of its routers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from montage.api.deps import Services
from montage.api.errors import request_problems
from montage.errors import ValidationFailed
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


def invalid_request(exc: RequestValidationError) -> ValidationFailed:
    """FastAPI's validation error as the contract's 400, naming the first offending field."""
    problems = request_problems(exc, task_field)
    first = problems[0] if problems else {"field": "", "message": "invalid request"}
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return ValidationFailed(message, field=first["field"], errors=problems)


class TaskRoute(APIRoute):
    """Answers a request FastAPI cannot parse with 400 INVALID_REQUEST, as the contract says,
    instead of FastAPI's 422."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise invalid_request(exc) from None

        return guarded
