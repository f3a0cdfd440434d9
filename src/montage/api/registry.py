"""What the servers, workflows and batch routers share: their services, time format, errors.

The contract's server was FastAPI: errors are ``{"detail": "..."}`` (a list naming each field
for a malformed body), and times are UTC without a zone, ``2024-03-26T10:00:00``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI, Request

from montage.api import media
from montage.errors import MontageError, ValidationFailed
from montage.services.batch import BatchService
from montage.services.jobs import JobService
from montage.services.runtime import Runtime
from montage.services.servers import QueuePort, ServerService
from montage.services.workflows import WorkflowService

PREFIXES = ("/servers", "/batch", "/workflows")


@dataclass
class Registry:
    servers: ServerService
    workflows: WorkflowService
    batch: BatchService


def open_registry(app: FastAPI, runtime: Runtime, jobs: JobService, queues: QueuePort) -> Registry:
    """The facade's services, kept on ``app.state``; the built-in workflows are seeded here."""
    servers = ServerService(runtime, queues)
    workflows = WorkflowService(runtime)
    workflows.seed_builtins()
    app.state.registry = Registry(servers, workflows, BatchService(jobs, servers, workflows))
    return app.state.registry  # type: ignore[no-any-return]


def install_error_shape(app: FastAPI) -> None:
    for prefix in PREFIXES:
        app.state.error_shapes.register(prefix, media.ERROR_SHAPE)


def registry(request: Request) -> Registry:
    found: Registry = request.app.state.registry
    return found


def seed_time(value: datetime | None) -> str | None:
    """UTC, seconds, no zone: the contract's ``2024-03-26T10:00:00``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if value else None


def as_bad_request(exc: MontageError) -> ValidationFailed:
    """The same error answered 400, where the contract says so (check-server, execute)."""
    return ValidationFailed(exc.message, code=exc.code, **exc.details)
