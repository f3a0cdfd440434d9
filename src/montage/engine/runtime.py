"""Launching DBOS for this process, and the dispatcher services use to reach it."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence

from dbos import DBOS, DBOSConfig, Queue, SetEnqueueOptions, SetWorkflowID

from montage.domain.jobs import Job
from montage.domain.pipelines import label_queue
from montage.engine import state
from montage.engine.dbos_polling import keep_poll_reads
from montage.engine.server_monitor import ServerMonitor
from montage.engine.start_order import StartTurns
from montage.engine.takeover import ExecutorWatch, Takeover, listened_queues, stop_dequeuing
from montage.engine.webhooks import QUEUE as WEBHOOK_QUEUE
from montage.engine.webhooks import WebhookDispatcher
from montage.pipelines import all_pipelines
from montage.services.execution import ExecutionService
from montage.services.interruptions import JobInterruptions
from montage.services.runtime import Runtime
from montage.services.stage_services import StageServices
from montage.services.webhooks import WebhookService
from montage.store import executors as executors_repo
from montage.store import records
from montage.store.db import make_system_sqlite_engine

log = logging.getLogger("montage.engine")

DEFAULT_QUEUE = "default"
INTERRUPTION_POLL_S = 0.2  # how often the running stages' jobs are read for cancel, retry and timeout
ENQUEUE_SPACING_S = 0.001  # DBOS orders a queue's equal priorities by the millisecond they were enqueued


class Engine:
    """DBOS in this process: executes jobs when ``executes`` is true, else only enqueues."""

    def __init__(self, runtime: Runtime, *, role: str, executes: bool, labels: Sequence[str] | None = None):
        self.runtime = runtime
        self.settings = runtime.settings
        self.role = role
        self.executes = executes
        self.labels = sorted(set(runtime.settings.executor_labels if labels is None else labels))
        self.executor_id = self.settings.resolved_executor_id(role)
        self.execution = ExecutionService(runtime)
        self.stage_services = StageServices(runtime, self)
        self.webhooks = WebhookService(runtime)
        self.start_turns = StartTurns(runtime.db, self.executor_id)  # first starts in queue order
        # jobs with a stage attempt running here, and how many (a canceled attempt may still be
        # running when the job's retry starts another); guarded by _stage_done
        self.running: Counter[str] = Counter()
        self._queues: dict[str, Queue] = {}  # registered at launch; a server's queue is looked up
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self.draining = threading.Event()  # set by drain(): no new stage starts in this process
        self._stage_done = threading.Condition()
        self._beating_since: float | None = None  # monotonic time of the first heartbeat of this unbroken run
        self._enqueue_spacing = threading.Lock()
        self._last_enqueue = -1.0  # monotonic time the last enqueue began

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
        elif self._filters_queues:  # every queue but other labels' (ExecutorWatch keeps the list current)
            DBOS.listen_queues(listened_queues(self._queue_names(), self.labels))
        state.install(self)
        DBOS.launch()
        keep_poll_reads()
        self._register_queues()
        if self.executes:
            self._heartbeat = threading.Thread(target=self._beat, name="montage-heartbeat", daemon=True)
            self._heartbeat.start()
            self.execution.interruptions = JobInterruptions(self.runtime.db)
            threading.Thread(target=self._watch_interruptions, name="montage-interruptions", daemon=True).start()
            ServerMonitor(self.runtime, self, self._stop).start()  # probes processing servers
            takeover = None if self.settings.is_sqlite else Takeover(self.runtime, self.executor_id,
                                                                     beating_for=self._beating_for)
            labels = self.labels if self._filters_queues else None
            ExecutorWatch(takeover, labels, self._stop, self.settings.heartbeat_interval_s).start()
            WebhookDispatcher(self.runtime, self.webhooks, self._stop).start()  # job events → webhooks

    @property
    def _filters_queues(self) -> bool:
        """Labels route work between executors on PostgreSQL; on SQLite the one executor takes all."""
        return self.executes and not self.settings.is_sqlite

    def _queue_names(self) -> list[str]:
        # webhook deliveries wait on backoff anyway: their queue polls slowly too
        return sorted({DEFAULT_QUEUE, WEBHOOK_QUEUE, *self.settings.queue_concurrency,
                       *(p.run_queue for p in all_pipelines()), *(label_queue(label) for label in self.labels)})

    def _register_queues(self) -> None:
        fast = {DEFAULT_QUEUE, *self.settings.queue_concurrency}
        for name in self._queue_names():
            # Every queue costs each executor a transaction per poll: only the queues of short
            # jobs poll fast, the pipelines' queues of long work (media, batch runs, labels) slowly.
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

    # -- graceful shutdown ---------------------------------------------------------------
    @contextlib.contextmanager
    def stage_slot(self, job_id: str) -> Iterator[None]:
        """Around one stage attempt: the job is in ``running`` (the heartbeat reports it and
        ``drain`` waits for it). While draining, a stage about to start holds here until the
        process exits, leaving its workflow PENDING for recovery (the step has no checkpoint
        yet, so it runs wherever the job resumes)."""
        if self.draining.is_set():
            threading.Event().wait()
        with self._stage_done:
            self.running[job_id] += 1
        try:
            yield
        finally:
            with self._stage_done:
                self.running[job_id] -= 1
                if self.running[job_id] <= 0:
                    del self.running[job_id]
                self._stage_done.notify_all()

    def drain(self, grace_s: float) -> int:
        """Stop taking work, let running stages finish for up to ``grace_s`` seconds, then say
        this executor stopped so another one takes over what is left at once. Returns how many
        stages were still running. The caller exits the process afterwards."""
        self.draining.set()
        stop_dequeuing()
        deadline = time.monotonic() + grace_s
        with self._stage_done:
            while self.running and (left := deadline - time.monotonic()) > 0:
                self._stage_done.wait(left)
            unfinished = len(self.running)
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=self.settings.heartbeat_interval_s + 5)
        try:
            with self.runtime.db.transaction() as s:
                executors_repo.mark_stopped(s, self.executor_id)
        except Exception:  # the database is away: the heartbeat timeout decides instead
            log.warning("could not mark executor %s stopped", self.executor_id, exc_info=True)
        return unfinished

    def _beating_for(self) -> float:
        """Seconds this executor's heartbeats have gone through without a failure."""
        since = self._beating_since
        return 0.0 if since is None else time.monotonic() - since

    def _watch_interruptions(self) -> None:
        """Read whether the jobs of the stages running here must stop, all in one query, every
        ``INTERRUPTION_POLL_S`` (their stages ask often; see :class:`JobInterruptions`)."""
        watch = self.execution.interruptions
        assert watch is not None
        while not self._stop.wait(INTERRUPTION_POLL_S):
            with self._stage_done:
                running = list(self.running)
            try:
                watch.refresh(running)
            except Exception:  # the database is away: stages read for themselves meanwhile
                log.debug("interruption refresh failed", exc_info=True)

    def _beat(self) -> None:
        hostname, pid = socket.gethostname(), os.getpid()
        while not self._stop.is_set():
            try:
                with self._stage_done:
                    running = sorted(self.running)
                with self.runtime.db.transaction() as s:
                    status = "draining" if self.draining.is_set() else "busy" if running else "idle"
                    records.heartbeat(s, self.executor_id, hostname=hostname, pid=pid, role=self.role,
                                      labels={"labels": self.labels, "concurrency": self.settings.worker_concurrency},
                                      status=status,
                                      current_job_id=running[0] if running else None)
                if self._beating_since is None:
                    self._beating_since = time.monotonic()
            except Exception:  # the database may be away for a moment; beat again later
                self._beating_since = None
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
        self._spaced_enqueue()
        with SetWorkflowID(job.workflow_id), SetEnqueueOptions(priority=job.priority.rank, delay_seconds=delay):
            queue.enqueue(job_workflow, job.id)

    def _spaced_enqueue(self) -> None:
        """Begin enqueues at least a millisecond apart. DBOS dequeues by priority, then by the
        millisecond its enqueue's transaction began; two jobs enqueued one after the other in
        the same millisecond (a batch's) came out in either order, and the second could start
        first. Costs a tight loop of enqueues up to 1 ms each."""
        with self._enqueue_spacing:
            wait = self._last_enqueue + ENQUEUE_SPACING_S - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_enqueue = time.monotonic()

    def cancel(self, workflow_id: str) -> None:
        if self.execution.interruptions is not None:
            self.execution.interruptions.forget_all()
        contextvars.Context().run(DBOS.cancel_workflow, workflow_id)

    def wake(self, workflow_id: str) -> None:
        """Nudge a workflow waiting at a gate to read its decision now."""
        from montage.engine.workflow import GATE_TOPIC

        DBOS.send(workflow_id, "wake", topic=GATE_TOPIC)
