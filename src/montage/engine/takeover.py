"""Taking over a dead executor's jobs, and choosing which queues this executor listens to.

Every executor writes a heartbeat row (``Engine._beat``). An executor whose heartbeat is older
than ``worker_dead_after_s`` — or that said it stopped after a graceful shutdown — is dead: a
live executor locks its row (``FOR UPDATE SKIP LOCKED``, so only one does it), hands its PENDING
DBOS workflows back to their queues with DBOS's recovery by executor id, and marks the row
``taken_over``. Any executor listening to those queues then runs them; each workflow replays its
checkpointed steps, so finished stages are skipped and only the stage that was running when the
executor died runs again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta

from dbos import DBOS

from montage.domain.pipelines import queue_label
from montage.services.runtime import Runtime
from montage.store import executors as executors_repo
from montage.store.jobs import utcnow

log = logging.getLogger("montage.takeover")
_QUEUE_REFRESH_S = 1.0


def recover_workflows_of(executor_id: str) -> int:
    """Re-queue the PENDING workflows DBOS recorded for ``executor_id``; how many there were.

    DBOS re-enqueues only rows still owned by that executor, so a second call (by another
    executor, or after a race) re-queues nothing a live executor has already taken."""
    return len(DBOS._recover_pending_workflows([executor_id]))


class Takeover:
    """Finds dead executors and takes over their unfinished workflows (one pass per ``tick``)."""

    def __init__(self, runtime: Runtime, executor_id: str,
                 recover: Callable[[str], int] = recover_workflows_of,
                 beating_for: Callable[[], float] = lambda: float("inf")) -> None:
        self.runtime = runtime
        self.executor_id = executor_id
        self.dead_after = timedelta(seconds=runtime.settings.worker_dead_after_s)
        self.recover = recover
        self.beating_for = beating_for

    def tick(self) -> list[str]:
        """Take over every executor that is dead now; the ids taken over.

        Only once this executor's own heartbeats have gone through for the whole timeout: after
        a database outage every heartbeat is old, and live executors need that long to beat
        again before silence means death."""
        if self.beating_for() < self.dead_after.total_seconds():
            return []
        stale_before = utcnow() - self.dead_after
        with self.runtime.db.read() as s:
            candidates = executors_repo.dead_executor_ids(s, me=self.executor_id, stale_before=stale_before)
        return [dead for dead in candidates if self._take_over(dead)]

    def _take_over(self, dead: str) -> bool:
        with self.runtime.db.transaction() as s:
            row = executors_repo.claim_dead_executor(s, dead, stale_before=utcnow() - self.dead_after)
            if row is None:  # another executor holds it, or it came back
                return False
            recovered = self.recover(dead)  # inside the row lock: nobody else recovers it meanwhile
            executors_repo.mark_taken_over(row, by=self.executor_id, recovered=recovered)
        log.warning("executor %s is dead (no heartbeat for %.0f s): %s took over its %d unfinished workflows",
                    dead, self.dead_after.total_seconds(), self.executor_id, recovered)
        return True


def listened_queues(all_queues: Iterable[str], labels: Iterable[str]) -> list[str]:
    """The queues an executor with ``labels`` takes work from: every queue that needs no label,
    and the label queues of its own labels."""
    mine = set(labels)
    return sorted(q for q in all_queues if queue_label(q) is None or queue_label(q) in mine)


def set_listened_queues(names: list[str]) -> None:
    """Point DBOS's queue manager at ``names``. DBOS takes the list once before launch
    (``DBOS.listen_queues``) and re-reads it every second; processing servers' queues appear
    while we run, so the list is refreshed through the attribute that call sets."""
    from dbos._dbos import _get_dbos_instance

    _get_dbos_instance()._listening_queues = list(names)


def stop_dequeuing() -> None:
    """Stop DBOS's queue threads (and its other pollers) so no new workflow starts here;
    running workflows go on. ``DBOS.destroy`` does the same first, then waits for every
    active workflow, which would include those held at a gate or before their next stage."""
    from dbos._dbos import _get_dbos_instance

    for event in list(_get_dbos_instance().background_thread_stop_events):
        event.set()


class ExecutorWatch:
    """The executor's background thread: refreshes the queues it listens to every second (unless
    ``labels`` is None: it listens to all) and looks for dead executors every ``heartbeat_interval_s``."""

    def __init__(self, takeover: Takeover | None, labels: list[str] | None, stop: threading.Event,
                 interval_s: float) -> None:
        self.takeover = takeover
        self.labels = labels
        self.stop = stop
        self.interval_s = interval_s
        self._thread: threading.Thread | None = None

    def start(self) -> ExecutorWatch:
        self._thread = threading.Thread(target=self._run, name="montage-executor-watch", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        next_takeover = 0.0
        elapsed = 0.0
        while not self.stop.is_set():
            self.refresh_queues()
            if self.takeover is not None and elapsed >= next_takeover:
                next_takeover = elapsed + self.interval_s
                try:
                    self.takeover.tick()
                except Exception:  # the database may be away; look again next time
                    log.warning("takeover check failed", exc_info=True)
            self.stop.wait(_QUEUE_REFRESH_S)
            elapsed += _QUEUE_REFRESH_S

    def refresh_queues(self) -> None:
        if self.labels is None:
            return
        try:
            names = [q.name for q in DBOS.list_queues()]
        except Exception:
            log.debug("could not list queues", exc_info=True)
            return
        set_listened_queues(listened_queues(names, self.labels))
