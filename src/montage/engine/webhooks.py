"""Webhook delivery on the durable engine: one DBOS workflow per delivery, one step per attempt,
durable sleeps between attempts (so a restart neither loses a delivery nor sends it twice after
it was accepted), and the dispatcher thread that turns new job events into deliveries.

The workflow id is ``webhook-<delivery id>``: several executors may find the same pending
delivery, and DBOS runs it once.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable

from dbos import DBOS, SetWorkflowID

from montage.engine.state import current
from montage.services.runtime import Runtime
from montage.services.webhooks import WebhookService

log = logging.getLogger("montage.webhooks")
QUEUE = "webhooks"
MAX_BACKOFF_S = 600.0


@DBOS.workflow(name="montage.webhook")
def webhook_workflow(delivery_id: str) -> str:
    settings = current().settings
    attempts = settings.webhook_max_attempts
    for attempt in range(1, attempts + 1):
        outcome = webhook_attempt_step(delivery_id, attempt == attempts)
        if outcome != "retry":
            return outcome
        DBOS.sleep(min(settings.webhook_backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
    return "failed"


@DBOS.step(name="montage.webhook.attempt")
def webhook_attempt_step(delivery_id: str, last: bool) -> str:
    return current().webhooks.attempt(delivery_id, last=last)


def enqueue_delivery(delivery_id: str) -> None:
    """Start the delivery's workflow (again: the same id makes it a no-op if it exists)."""
    def _enqueue() -> None:
        queue = DBOS.retrieve_queue(QUEUE)
        assert queue is not None
        with SetWorkflowID(f"webhook-{delivery_id}"):
            queue.enqueue(webhook_workflow, delivery_id)
    contextvars.Context().run(_enqueue)


class WebhookDispatcher:
    """Looks for new events of jobs with webhooks every ``webhook_poll_interval_s`` and starts a
    delivery for each one a webhook asked for. Runs in every executor."""

    def __init__(self, runtime: Runtime, service: WebhookService, stop: threading.Event) -> None:
        self.service = service
        self.stop = stop
        self.interval = runtime.settings.webhook_poll_interval_s
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookDispatcher:
        self._thread = threading.Thread(target=self._run, name="montage-webhooks", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        self._dispatch(self.service.pending)  # deliveries left pending by a restart
        while not self.stop.wait(self.interval):
            self._dispatch(self.service.scan)

    @staticmethod
    def _dispatch(find: Callable[[], list[str]]) -> None:
        try:
            for delivery_id in find():
                enqueue_delivery(delivery_id)
        except Exception:  # the database may be away for a moment; look again next tick
            log.warning("webhook dispatch failed", exc_info=True)
