"""Outbound webhooks: which job events go to a receiver, signed per Standard Webhooks, and one
delivery attempt at a time (the engine retries with backoff, durably).

Every delivery is a POST of JSON with ``webhook-id`` (the delivery id, the same on every retry),
``webhook-timestamp`` (unix seconds) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of
id.timestamp.body>`` under each configured secret, space-separated, so a receiver can rotate
secrets. Signing is ``standardwebhooks``'s reference code; :mod:`montage.webhooks` verifies.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook as Signer

from montage import outbound
from montage.domain.webhooks import EVENT_TYPES, Delivery, DeliveryStatus, Webhook
from montage.errors import UrlRefused, ValidationFailed
from montage.services.runtime import Runtime
from montage.services.secrets_store import server_secret
from montage.store import jobs as jobs_repo
from montage.store import records
from montage.store import webhooks as repo
from montage.store.jobs import utcnow

log = logging.getLogger("montage.webhooks")
_BODY_KEPT = 1000


def check_subscription(url: str, events: Sequence[str] | None) -> tuple[str, tuple[str, ...]]:
    """A webhook URL that passes the outbound policy, and its event filter (all when None)."""
    chosen = tuple(EVENT_TYPES if not events else dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(f"webhook_events must be among: {', '.join(EVENT_TYPES)}", field="webhook_events",
                               received=unknown, allowed=list(EVENT_TYPES))
    if len(url) > 2000:
        raise ValidationFailed("webhook_url is longer than 2000 characters", field="webhook_url")
    try:
        return outbound.check_url(url), chosen
    except UrlRefused as exc:
        raise UrlRefused(exc.message, **{**exc.details, "field": "webhook_url"}) from None


def signing_secrets(runtime: Runtime) -> list[str]:
    """The configured secrets, or the one kept in the data dir."""
    configured = [s.get_secret_value() for s in runtime.settings.webhook_secrets]
    return configured or [server_secret(runtime.settings.data_dir, "webhooks", None, webhook=True)]


def signature_headers(secrets: Sequence[str], msg_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers; one ``v1,…`` signature per secret."""
    signatures = " ".join(Signer(secret).sign(msg_id, timestamp, body) for secret in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json"}


class WebhookService:
    def __init__(self, runtime: Runtime, transport: httpx.BaseTransport | None = None) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.settings = runtime.settings
        self._transport = transport
        self._secrets: list[str] | None = None

    @property
    def secrets(self) -> list[str]:
        if self._secrets is None:
            self._secrets = signing_secrets(self.runtime)
        return self._secrets

    # -- reads -----------------------------------------------------------------------------------
    def of_job(self, job_id: str) -> tuple[Webhook | None, list[Delivery]]:
        """The job's webhook and its deliveries (the job must be visible to the caller)."""
        with self.db.read() as s:
            jobs_repo.load_job(s, job_id, with_stages=False)
            return repo.webhook_of(s, job_id), repo.deliveries_of(s, job_id)

    # -- the dispatcher's work -------------------------------------------------------------------
    def scan(self) -> list[str]:
        """Deliveries for events written since the last scan, for every job with a webhook."""
        made: list[str] = []
        with self.db.read() as s:
            hooks = repo.open_webhooks(s)
        for hook in hooks:
            with self.db.read() as s:
                events = records.events_after(s, hook.job_id, hook.last_event_id, 500)
            if events:
                with self.db.transaction() as s:
                    made += repo.record_events(s, hook, events)
        return made

    def pending(self) -> list[str]:
        with self.db.read() as s:
            return repo.pending_ids(s)

    def attempt(self, delivery_id: str, *, last: bool) -> str:
        """POST the delivery once: ``"delivered"``, ``"retry"``, or ``"failed"`` (the last attempt
        failed, or the delivery is gone). Every attempt is recorded."""
        with self.db.read() as s:
            delivery = repo.load_delivery(s, delivery_id)
        if delivery is None:
            return "failed"
        if delivery.status != DeliveryStatus.PENDING:
            return delivery.status.value
        outcome, fields = self._post(delivery)
        if outcome != "delivered" and last:
            outcome = "failed"
        status = {"delivered": DeliveryStatus.DELIVERED, "failed": DeliveryStatus.FAILED}.get(outcome)
        with self.db.transaction() as s:
            repo.record_attempt(s, delivery_id, status=(status or DeliveryStatus.PENDING).value,
                                delivered_at=utcnow() if status == DeliveryStatus.DELIVERED else None, **fields)
        return outcome

    def _post(self, delivery: Delivery) -> tuple[str, dict[str, object]]:
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"))
        headers = signature_headers(self.secrets, delivery.id, datetime.now(UTC), body)
        transport = self._transport or outbound.GuardedTransport()
        try:
            with httpx.Client(transport=transport, timeout=self.settings.webhook_timeout_s,
                              follow_redirects=False) as client:
                response = client.post(delivery.url, content=body.encode(), headers=headers)
        except (httpx.HTTPError, ValidationFailed) as exc:
            return "retry", {"error": f"{type(exc).__name__}: {exc}"[:_BODY_KEPT], "response_status": None}
        fields: dict[str, object] = {"response_status": response.status_code, "error": None,
                                     "response_body": response.text[:_BODY_KEPT]}
        if 200 <= response.status_code < 300:
            return "delivered", fields
        fields["error"] = f"the receiver answered {response.status_code}"
        return "retry", fields
