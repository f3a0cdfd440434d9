"""Recent reads of jobs, kept in memory so that polling clients cost no database read.

An API process reads the same jobs over and over (every client polls its job every second or
two). A view read from the database stays here until something changes the job:

- a transaction of this process that touched the job drops it as it commits, before the
  service that wrote returns (so a client reads its own writes);
- an event of the job written by another process (a worker, another API replica) drops it
  when this process's :class:`~montage.services.events.EventHub` tails it, within the hub's
  poll interval (0.1 s); every change to a job writes an event;
- and, as a safety net, no view is older than ``max_age_s``.

Only a process whose event hub runs (``montage serve``, with or without a worker) keeps
views; elsewhere every read goes to the database.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TypeVar

from montage.domain.jobs import JobEvent

T = TypeVar("T")
_FORGET_EVICTIONS = 50_000
JOB, JOB_WITH_ARTIFACTS = "job", "job+artifacts"  # the kinds of view


class JobViews:
    def __init__(self, *, max_age_s: float = 2.0, size: int = 2048) -> None:
        self.max_age_s, self.size = max_age_s, size
        self._views: OrderedDict[tuple[str, str], tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()
        self._seq = 0  # counts evictions
        self._evicted: OrderedDict[str, int] = OrderedDict()  # job id → seq of its last eviction

    def read(self, job_id: str, kind: str, load: Callable[[], T]) -> T:
        """The view ``kind`` of ``job_id``: from memory if nothing changed the job since it was
        read, else ``load()`` (kept unless the job changed while it was loading)."""
        now = time.monotonic()
        with self._lock:
            entry = self._views.get((job_id, kind))
            if entry is not None and now - entry[0] < self.max_age_s:
                return entry[1]  # type: ignore[return-value]
            seq = self._seq
        value = load()
        with self._lock:
            if self._evicted.get(job_id, -1) <= seq:  # not changed since the read began
                self._views[(job_id, kind)] = (now, value)
                self._views.move_to_end((job_id, kind))
                while len(self._views) > self.size:
                    self._views.popitem(last=False)
        return value

    def evict(self, job_ids: Iterable[str]) -> None:
        with self._lock:
            for job_id in job_ids:
                self._seq += 1
                self._evicted[job_id] = self._seq
                self._evicted.move_to_end(job_id)
                for kind in (JOB, JOB_WITH_ARTIFACTS):
                    self._views.pop((job_id, kind), None)
            while len(self._evicted) > _FORGET_EVICTIONS:
                # Forgetting an old eviction is safe: a read that began before it has long ended.
                self._evicted.popitem(last=False)

    def events(self, events: list[JobEvent]) -> None:
        """EventHub listener: the jobs of these events changed."""
        self.evict({e.job_id for e in events})
