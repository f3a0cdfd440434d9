"""Whether the jobs running in this process must stop, read for all of them at once.

A running stage asks every fraction of a second whether its job was canceled, retried into
another run, or ran past its deadline. Asked of the database one job at a time, fifty stages
that mostly wait on remote servers cost hundreds of reads a second; instead an executor's
thread reads the jobs of all its running stages in one query per interval (:meth:`refresh`),
and each stage looks its job up in memory. A job with no fresh reading (a stage that has just
started, or a watcher that fell behind) is read from the database as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from montage.domain.jobs import JobState
from montage.store import jobs as jobs_repo
from montage.store.db import Database


class JobInterruptions:
    """The latest :class:`JobState` of each watched job, with when it was read."""

    def __init__(self, db: Database, *, max_age_s: float = 1.0) -> None:
        self.db, self.max_age_s = db, max_age_s
        self._states: dict[str, tuple[float, JobState]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # counts forget_all(): a read begun before one is not kept

    def refresh(self, job_ids: Iterable[str]) -> None:
        """Read the states of ``job_ids`` in one query (and forget every other job)."""
        ids = sorted(set(job_ids))
        states: dict[str, tuple[float, JobState]] = {}
        with self._lock:
            generation = self._generation
        if ids:
            read_at = time.monotonic()
            with self.db.read() as s:
                states = {job_id: (read_at, state) for job_id, state in jobs_repo.job_states(s, ids).items()}
        with self._lock:
            if generation == self._generation:
                self._states = states

    def forget_all(self) -> None:
        """Drop every reading (this process just canceled a job): stages read for themselves
        until the next refresh, so they see the cancel at their next check."""
        with self._lock:
            self._generation += 1
            self._states = {}

    def state(self, job_id: str) -> JobState | None:
        """The job's state if it was read less than ``max_age_s`` ago, else None."""
        with self._lock:
            found = self._states.get(job_id)
        if found is None or time.monotonic() - found[0] > self.max_age_s:
            return None
        return found[1]
