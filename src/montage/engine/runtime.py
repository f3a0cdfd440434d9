"""Launching DBOS for this process, and the dispatcher services use to reach it."""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
from typing import Any

from dbos import DBOS, DBOSConfig, Queue, SetEnqueueOptions, SetWorkflowID

from montage.domain.jobs import Job
from montage.engine import state
from montage.engine.server_monitor import ServerMonitor
from montage.engine.webhooks import QUEUE as WEBHOOK_QUEUE
from montage.engine.webhooks import WebhookDispatcher
from montage.pipelines import all_pipelines
from montage.services.execution import ExecutionService
from montage.services.runtime import Runtime
from montage.services.stage_services import StageServices
from montage.services.webhooks import WebhookService
from montage.store import records
from montage.store.db import make_system_sqlite_engine

log = logging.getLogger("montage.engine")

DEFAULT_QUEUE = "default"


class Engine:
    """DBOS in this process: executes jobs when ``executes`` is true, else only enqueues."""

    def __init__(self, runtime: Runtime, *, role: str, executes: bool, labels: dict[str, Any] | None = None):
        self.runtime = runtime
        self.settings = runtime.settings
        self.role = role
        self.executes = executes
        self.labels = labels or {}
        self.executor_id = self.settings.resolved_executor_id(role)
        self.execution = ExecutionService(runtime)
        self.stage_services = StageServices(runtime, self)
        self.webhooks = WebhookService(runtime)
        self.running: set[str] = set()
        self._queues: dict[str, Queue] = {}  # registered at launch; a server's queue is looked up
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def launch(self) -> None:
        import montage.engine.webhooks
        import montage.engine.workflow  # noqa: F401  (registers the workflow with DBOS)

        config: DBOSConfig = {
            "name": "montage",
            "system_database_url": self.settings.system_database_url,
            "application_version": self.settings.app_version,
            "executor_id": self.executor_id,
            "log_level": "WARNING",
            "notification_listener_polling_interval_sec": 0.05,
        }
        if self.settings.is_sqlite:
            config["system_database_engine"] = make_system_sqlite_engine(self.settings.system_database_url)
        DBOS(config=config)
        if not self.executes:
            DBOS.listen_queues([])
        state.install(self)
        DBOS.launch()
        self._register_queues()
        if self.executes:
            self._heartbeat = threading.Thread(target=self._beat, name="montage-heartbeat", daemon=True)
            self._heartbeat.start()
            ServerMonitor(self.runtime, self, self._stop).start()  # probes processing servers
            WebhookDispatcher(self.runtime, self.webhooks, self._stop).start()  # job events → webhooks

    def _register_queues(self) -> None:
        fast = {DEFAULT_QUEUE, *self.settings.queue_concurrency}
        # webhook deliveries wait on backoff anyway: their queue polls slowly too
        for name in sorted(fast | {WEBHOOK_QUEUE, *(p.queue for p in all_pipelines())}):
            # Every queue costs each executor a transaction per poll: only the queues of short
            # jobs poll fast, the pipelines' queues of long work (media, batch runs) slowly.
            self._queues[name] = DBOS.register_queue(
                name,
                worker_concurrency=self.settings.worker_concurrency,
                global_concurrency=self.settings.queue_concurrency.get(name),
                polling_interval_sec=self.settings.queue_polling_interval_s if name in fast
                else self.settings.long_queue_polling_interval_s,
                on_conflict="always_update",
            )

    def shutdown(self, grace_s: float = 0.0) -> None:
        self._stop.set()
        DBOS.destroy(workflow_completion_timeout_sec=int(grace_s))
        state.install(None)

    def _beat(self) -> None:
        hostname, pid = socket.gethostname(), os.getpid()
        while not self._stop.is_set():
            try:
                with self.runtime.db.transaction() as s:
                    running = sorted(self.running)
                    records.heartbeat(s, self.executor_id, hostname=hostname, pid=pid, role=self.role,
                                      labels=self.labels, status="busy" if running else "idle",
                                      current_job_id=running[0] if running else None)
            except Exception:  # the database may be away for a moment; beat again later
                log.warning("heartbeat failed", exc_info=True)
            self._stop.wait(self.settings.heartbeat_interval_s)

    # -- the dispatcher services call -------------------------------------------------
    def enqueue(self, job: Job) -> None:
        # A job is always a workflow of its own, also when a running stage submits it (a batch
        # task's children): enqueue outside the caller's DBOS step context, which DBOS refuses.
        contextvars.Context().run(self._enqueue, job)

    def _enqueue(self, job: Job) -> None:
        from montage.engine.workflow import job_workflow

        assert job.workflow_id
        delay = None
        if job.schedule_for is not None:
            from montage.store.jobs import utcnow

            delay = max(0.0, (job.schedule_for - utcnow()).total_seconds()) or None
        queue = self._queues.get(job.queue) or DBOS.retrieve_queue(job.queue) or self._queues[DEFAULT_QUEUE]
        with SetWorkflowID(job.workflow_id), SetEnqueueOptions(priority=job.priority.rank, delay_seconds=delay):
            queue.enqueue(job_workflow, job.id)

    def cancel(self, workflow_id: str) -> None:
        contextvars.Context().run(DBOS.cancel_workflow, workflow_id)

    def wake(self, workflow_id: str) -> None:
        """Nudge a workflow waiting at a gate to read its decision now."""
        from montage.engine.workflow import GATE_TOPIC

        DBOS.send(workflow_id, "wake", topic=GATE_TOPIC)
