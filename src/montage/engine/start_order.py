"""Jobs start in queue order, also when several are dequeued at once.

DBOS claims a queue's next workflows in one transaction, ordered by priority and then by
the time each was enqueued, and hands each to a thread of its own; the threads then race,
so the third job of a batch could mark itself started before the first. Another executor
may likewise claim the next batch while this one's threads are still starting.

So before a job's first stage starts, :class:`StartTurns` looks at the jobs ahead of it in its
queue (``store.queue_order``) that an executor has already claimed (their workflow is
PENDING) but that have not started yet, and waits until they have. Jobs ahead that are
still waiting in DBOS's queue are not waited for: nothing says they will be dequeued soon.
The wait ends after ``MAX_WAIT_S`` whatever happens, so an executor that died holding a claim
delays the jobs behind it by that much at most.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Collection

from dbos import DBOS

from montage.domain.jobs import JobStatus
from montage.services.runtime import Runtime
from montage.store import jobs as jobs_repo
from montage.store import queue_order
from montage.store.jobs import utcnow

#: The longest a job waits for the jobs claimed ahead of it to start.
MAX_WAIT_S = 5.0
#: How often the wait looks at the table when no start in this process wakes it earlier
#: (the jobs waited for may start on another executor).
_RECHECK_S = 0.05


def claimed_workflows(workflow_ids: Collection[str]) -> set[str]:
    """Those of ``workflow_ids`` an executor has dequeued and not finished (DBOS PENDING)."""
    found = contextvars.Context().run(  # outside the calling step's context: a plain read, not a step
        DBOS.list_workflows, workflow_ids=list(workflow_ids), status="PENDING", load_input=False,
        load_output=False)
    return {w.workflow_id for w in found}


class StartTurns:
    def __init__(self, runtime: Runtime, claimed: Callable[[Collection[str]], set[str]] = claimed_workflows,
                 max_wait_s: float = MAX_WAIT_S) -> None:
        self.db = runtime.db
        self.claimed = claimed
        self.max_wait_s = max_wait_s
        self._changed = threading.Condition()
        self._generation = 0  # counts this process's writes; a waiter sleeps only if none came since its read
        runtime.on_change(self._wake)

    def _wake(self) -> None:
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def wait_turn(self, job_id: str) -> list[str]:
        """Before ``job_id`` first starts: wait until the jobs claimed ahead of it have started
        (or ``max_wait_s`` passed). Returns the ids of those it found still unstarted at the end."""
        deadline = time.monotonic() + self.max_wait_s
        with self.db.read() as s:
            job = jobs_repo.load_job(s, job_id, with_stages=False)
            if job.status != JobStatus.QUEUED:
                return []
            ahead = queue_order.workflows_ahead(s, job, utcnow())
        if not ahead:
            return []
        waiting = {ahead[w] for w in self.claimed(ahead)}
        while waiting and (left := deadline - time.monotonic()) > 0:
            with self._changed:
                seen = self._generation
            with self.db.read() as s:
                waiting = queue_order.still_queued(s, waiting)
            with self._changed:
                if waiting and seen == self._generation:
                    self._changed.wait(min(left, _RECHECK_S))
        return sorted(waiting)
