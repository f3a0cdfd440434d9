"""The executor's server monitor: probes processing servers and settles finished batch runs.

It runs in every executor process. Each tick it probes the servers whose check is due — the
next check time is moved forward with a guarded update first, so of several processes only one
probes a given server per interval — and lets the batch service record executions whose job
ended without saying so and free the servers they held.
"""

from __future__ import annotations

import logging
import threading

from montage.engine.server_queues import ServerQueues
from montage.services.batch import BatchService
from montage.services.jobs import Dispatcher, JobService
from montage.services.runtime import Runtime
from montage.services.servers import ServerService
from montage.services.workflows import WorkflowService

log = logging.getLogger("montage.servers")
TICK_S = 1.0


class ServerMonitor:
    def __init__(self, runtime: Runtime, dispatcher: Dispatcher, stop: threading.Event) -> None:
        self.servers = ServerService(runtime, ServerQueues(runtime.settings))
        self.batch = BatchService(JobService(runtime, dispatcher), self.servers, WorkflowService(runtime))
        self.stop = stop
        self.tick_s = min(TICK_S, runtime.settings.server_health_interval_s)
        self._thread: threading.Thread | None = None

    def start(self) -> ServerMonitor:
        self._thread = threading.Thread(target=self._run, name="montage-server-monitor", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.servers.sync_queues()
        except Exception:
            log.warning("could not register the servers' queues", exc_info=True)
        while not self.stop.is_set():
            self.tick()
            self.stop.wait(self.tick_s)

    def tick(self) -> None:
        """One round: probe what is due, settle what ended. Errors are logged, never raised."""
        for step in (self.servers.probe_due, self.batch.reconcile):
            try:
                step()
            except Exception:  # the database may be away for a moment; try again next tick
                log.warning("server monitor: %s failed", step.__name__, exc_info=True)
