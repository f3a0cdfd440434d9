"""Webhook and delivery rows in, domain objects out."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from montage.domain.jobs import JobEvent
from montage.domain.webhooks import Delivery, DeliveryStatus, Webhook, event_type, payload_of
from montage.store.jobs import utcnow
from montage.store.webhook_models import WebhookDeliveryRow, WebhookRow

_ENDING_KINDS = frozenset({"done", "failed", "canceled"})


def subscribe(s: Session, job_id: str, url: str, events: Sequence[str]) -> None:
    s.add(WebhookRow(job_id=job_id, url=url, events=list(events), last_event_id=0, done=False,
                     created_at=utcnow()))


def webhook_of(s: Session, job_id: str) -> Webhook | None:
    row = s.get(WebhookRow, job_id)
    return None if row is None else Webhook(row.job_id, row.url, tuple(row.events), row.last_event_id)


def open_webhooks(s: Session, limit: int = 500) -> list[Webhook]:
    """Webhooks of jobs whose last event has not been seen yet."""
    rows = s.scalars(select(WebhookRow).where(WebhookRow.done.is_(False)).limit(limit)).all()
    return [Webhook(r.job_id, r.url, tuple(r.events), r.last_event_id) for r in rows]


def record_events(s: Session, hook: Webhook, events: Sequence[JobEvent]) -> list[str]:
    """Deliveries for the events the webhook asked for; moves its cursor past ``events``. The
    cursor moves only if no other process moved it first, so each event gets one delivery."""
    if not events:
        return []
    moved = s.execute(update(WebhookRow).where(WebhookRow.job_id == hook.job_id,
                                               WebhookRow.last_event_id == hook.last_event_id)
                      .values(last_event_id=events[-1].id, done=any(e.kind in _ENDING_KINDS for e in events))
                      .execution_options(synchronize_session=False))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return []
    now, made = utcnow(), []
    for event in events:
        kind = event_type(event)
        if kind is None or kind not in hook.events:
            continue
        delivery_id = f"msg_{uuid.uuid4().hex}"
        s.add(WebhookDeliveryRow(id=delivery_id, job_id=hook.job_id, event_id=event.id, event_type=kind,
                                 url=hook.url, payload=payload_of(event, kind), status=DeliveryStatus.PENDING.value,
                                 attempts=0, created_at=now, updated_at=now))
        made.append(delivery_id)
    return made


def delivery_from_row(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(id=row.id, job_id=row.job_id, event_id=row.event_id, event_type=row.event_type, url=row.url,
                    payload=row.payload, status=DeliveryStatus(row.status), attempts=row.attempts,
                    response_status=row.response_status, response_body=row.response_body, error=row.error,
                    created_at=row.created_at, updated_at=row.updated_at, delivered_at=row.delivered_at)


def load_delivery(s: Session, delivery_id: str) -> Delivery | None:
    row = s.get(WebhookDeliveryRow, delivery_id)
    return None if row is None else delivery_from_row(row)


def deliveries_of(s: Session, job_id: str, limit: int = 200, offset: int = 0) -> list[Delivery]:
    rows = s.scalars(select(WebhookDeliveryRow).where(WebhookDeliveryRow.job_id == job_id)
                     .order_by(WebhookDeliveryRow.event_id).limit(limit).offset(offset)).all()
    return [delivery_from_row(r) for r in rows]


def pending_ids(s: Session, limit: int = 1000) -> list[str]:
    return list(s.scalars(select(WebhookDeliveryRow.id).where(
        WebhookDeliveryRow.status == DeliveryStatus.PENDING.value).limit(limit)).all())


def record_attempt(s: Session, delivery_id: str, **fields: Any) -> None:
    """One attempt's outcome: ``status``, ``response_status``, ``response_body``, ``error``…"""
    row = s.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        return
    s.execute(update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
              .values(attempts=row.attempts + 1, updated_at=utcnow(), **fields)
              .execution_options(synchronize_session=False))
