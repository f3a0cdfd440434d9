"""Webhooks as a job sees them: which of its events a receiver asked for, and what is sent."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from montage.domain.jobs import JobEvent

#: The event types a job's webhook may ask for (all of them when it names none).
EVENT_TYPES = ("start", "stage", "asset", "approval", "completed", "failed")

_BY_KIND = {"stage": "stage", "asset": "asset", "approval": "approval", "done": "completed", "failed": "failed",
            "canceled": "failed"}
_BY_STATUS = {"RUNNING": "start", "WAITING_APPROVAL": "approval"}


def event_type(event: JobEvent) -> str | None:
    """The webhook event type of a core event, or None if no webhook hears it (logs, progress)."""
    if event.kind == "status":
        return _BY_STATUS.get(event.status or "")
    return _BY_KIND.get(event.kind)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Webhook:
    """A job's receiver: where to POST, and which event types."""

    job_id: str
    url: str
    events: tuple[str, ...]
    last_event_id: int


@dataclass(frozen=True)
class Delivery:
    """One event sent (or being sent) to a job's webhook; ``id`` is its ``webhook-id``."""

    id: str
    job_id: str
    event_id: int
    event_type: str
    url: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    response_status: int | None
    response_body: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


def payload_of(event: JobEvent, event_type: str) -> dict[str, Any]:
    """The JSON body a receiver gets (Standard Webhooks style: ``type``, ``timestamp``, ``data``)."""
    return {
        "type": f"job.{event_type}",
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": {"job_id": event.job_id, "event_id": event.id, "kind": event.kind, "stage": event.stage,
                 "status": event.status, "progress": event.progress, "message": event.message,
                 "payload": event.payload},
    }
