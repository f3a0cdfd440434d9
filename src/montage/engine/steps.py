"""Workflow steps that outlive a database outage.

A step that raises is recorded as failed and the job's workflow ends in error, its job left
RUNNING for good. montage's steps never raise for a stage's own errors, only when the app
database is away (a PostgreSQL restart, a failover): those steps are retried, with backoff, for
about eight minutes. Each step checks the tables before it changes them, so running it again
is safe; a stage whose result could not be recorded runs again, once per outage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from dbos import DBOS
from sqlalchemy.exc import InterfaceError, OperationalError

P = ParamSpec("P")
R = TypeVar("R")


def database_away(exc: BaseException) -> bool:
    """Whether the step failed because the database could not be reached (retry), not a bug."""
    return isinstance(exc, OperationalError | InterfaceError)


def durable_step(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``DBOS.step`` retried while the database is away: 10 attempts, 0.5 s doubling (≈ 8.5 min)."""
    return DBOS.step(name=name, retries_allowed=True, max_attempts=10, interval_seconds=0.5, backoff_rate=2.0,
                     should_retry=database_away)
