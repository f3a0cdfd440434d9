"""Jobs start in queue order, also when several are dequeued at once.

DBOS claims a queue's next workflows in one transaction, ordered by priority and then by
the time each was enqueued, and hands each to a thread of its own; the threads then race,
so the third job of a batch could mark itself started before the first. Another executor
may likewise claim the next batch while this one's threads are still starting.

So before a job's first start, :meth:`StartTurns.ahead_claimed` looks at the jobs ahead of it
in its queue (``store.queue_order``) that an executor has already claimed (their workflow is
PENDING) but that have not started yet:

- those claimed by this executor are returned, in queue order, and the job's start marks
  them started first, in the same transaction (``ExecutionService.start_next_stage``): their
  own threads, a moment later, find them started and run them. So a batch starts in order
  whichever of its threads comes first, and none waits for another;
- for those claimed by another executor it waits, reading the table every ``_RECHECK_S``,
  until they have started there.

Jobs ahead that are still waiting in DBOS's queue are not waited for: nothing says they will
be dequeued soon. The wait ends after ``MAX_WAIT_S`` whatever happens, so a claim held by an
executor that died delays the jobs behind it by that much at most.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Collection

from dbos import DBOS

from montage.domain.jobs import JobStatus
from montage.store import jobs as jobs_repo
from montage.store import queue_order
from montage.store.db import Database
from montage.store.jobs import utcnow

#: The longest a job waits for the jobs another executor claimed ahead of it to start.
MAX_WAIT_S = 5.0
_RECHECK_S = 0.05

#: Workflow ids → the executor that claimed each, for those of the ids that are claimed.
ClaimLookup = Callable[[Collection[str]], dict[str, str]]


def claimed_workflows(workflow_ids: Collection[str]) -> dict[str, str]:
    """Those of ``workflow_ids`` an executor has dequeued and not finished (DBOS PENDING),
    with the executor's id."""
    found = contextvars.Context().run(  # outside the calling step's context: a plain read, not a step
        DBOS.list_workflows, workflow_ids=list(workflow_ids), status="PENDING", load_input=False,
        load_output=False)
    return {w.workflow_id: w.executor_id or "" for w in found}


class StartTurns:
    def __init__(self, db: Database, executor_id: str, claimed: ClaimLookup = claimed_workflows,
                 max_wait_s: float = MAX_WAIT_S) -> None:
        self.db = db
        self.executor_id = executor_id
        self.claimed = claimed
        self.max_wait_s = max_wait_s
        self._stop = threading.Event()  # never set: an interruptible pause between reads

    def ahead_claimed(self, job_id: str) -> list[tuple[str, str]]:
        """(job id, workflow id) of the queued jobs ahead of ``job_id`` that this executor has
        claimed, in queue order, once those claimed by other executors have started (or
        ``max_wait_s`` has passed). Empty when the job is not queued (not its first start)."""
        with self.db.read() as s:
            job = jobs_repo.load_job(s, job_id, with_stages=False)
            if job.status != JobStatus.QUEUED:
                return []
            ahead = queue_order.workflows_ahead(s, job, utcnow())
        claims = self.claimed([workflow for _, workflow in ahead]) if ahead else {}
        self.wait_for_others({j for j, w in ahead if claims.get(w, self.executor_id) != self.executor_id})
        return [(j, w) for j, w in ahead if claims.get(w) == self.executor_id]

    def wait_for_others(self, job_ids: set[str]) -> list[str]:
        """Wait until none of ``job_ids`` (claimed by other executors) is queued any more, for
        ``max_wait_s`` at most; those still queued then."""
        deadline = time.monotonic() + self.max_wait_s
        while job_ids:
            with self.db.read() as s:
                job_ids = queue_order.still_queued(s, job_ids)
            left = deadline - time.monotonic()
            if not job_ids or left <= 0:
                break
            self._stop.wait(min(left, _RECHECK_S))
        return sorted(job_ids)
