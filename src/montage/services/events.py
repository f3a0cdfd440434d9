"""Live job events for streams: replay from the table, then follow.

One poller per process tails the events table (woken at once by writes in this process,
and every ``poll_interval_s`` for writes by executors elsewhere) and fans each new event
out to the subscribers of its job, so 200 clients on one job cost one query, not 200.

On PostgreSQL, event ids of different jobs may commit out of order (``store.records``): a
poll can see id 12 while 11 is still being committed. The poller remembers such holes and
reads them again at each poll until they fill (then fans them out, before the newer events)
or, after ``GAP_WAIT_S``, gives up on them: an id a rolled-back transaction took never fills.
One job's events still arrive in id order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict

from montage.domain.jobs import JobEvent
from montage.store import records
from montage.store.db import Database

_QUEUE_LIMIT = 10_000
GAP_WAIT_S = 60.0  # a hole in the ids older than this was a rolled-back transaction's
_GAP_LIMIT = 20_000  # holes followed at most (the oldest are given up first)
_CATCH_UP = 5_000  # on (re)starting from the newest id, how many ids below it are checked for holes
#: Subscribe to this instead of a job id to receive the events of every job (the dashboard's list).
ALL_JOBS = "*"


class EventHub:
    def __init__(self, db: Database, poll_interval_s: float = 0.1, track_gaps: bool | None = None) -> None:
        self.db = db
        self.poll_interval_s = poll_interval_s
        self._subscribers: dict[str, set[asyncio.Queue[JobEvent]]] = defaultdict(set)
        self._cursor = 0
        # SQLite commits one writer at a time: ids become visible in order
        self._track_gaps = db.is_postgres if track_gaps is None else track_gaps
        self._gaps: dict[int, float] = {}  # missing id → when first missed (monotonic), oldest first
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def open_streams(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._start_from(*await asyncio.to_thread(self._newest))
        self._task = asyncio.create_task(self._run(), name="montage-event-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def nudge(self) -> None:
        """Thread-safe: something was written, poll now."""
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    def _last_id(self) -> int:
        with self.db.read() as s:
            return records.last_event_id(s)

    def _newest(self) -> tuple[int, list[int]]:
        """The newest event id and (PostgreSQL) the ids below it that are not visible yet."""
        with self.db.read() as s:
            last = records.last_event_id(s)
            if not self._track_gaps or last == 0:
                return last, []
            first = max(1, last - _CATCH_UP + 1)
            present = set(records.event_ids_from(s, first))
        return last, [i for i in range(first, last) if i not in present]

    def _start_from(self, last: int, holes: list[int]) -> None:
        if last > self._cursor:
            now = time.monotonic()
            self._gaps.update((i, now) for i in holes if i > self._cursor)
            self._cursor = last

    def _poll(self, after: int, gaps: list[int]) -> tuple[list[JobEvent], list[JobEvent]]:
        """(holes that filled, events after ``after``). The tail is read first: a job's event
        the tail shows committed after that job's earlier ones, which the second read sees."""
        with self.db.read() as s:
            new = records.tail_events(s, after)
            late = records.events_in(s, gaps) if gaps else []
        return late, new

    def _advance(self, late: list[JobEvent], new: list[JobEvent]) -> None:
        """Move the cursor past ``new``, remembering the holes it leaves, forget the filled ones
        in ``late`` and give up on old ones."""
        now = time.monotonic()
        for event in late:
            self._gaps.pop(event.id, None)
        for event in new:
            if self._track_gaps and event.id > self._cursor + 1:
                self._gaps.update((i, now) for i in range(max(self._cursor + 1, event.id - _GAP_LIMIT), event.id))
            self._cursor = max(self._cursor, event.id)
        while self._gaps:
            oldest, since = next(iter(self._gaps.items()))
            if now - since <= GAP_WAIT_S and len(self._gaps) <= _GAP_LIMIT:
                break
            del self._gaps[oldest]

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
            self._wake.clear()
            if not self._subscribers:
                continue
            try:
                late, new = await asyncio.to_thread(self._poll, self._cursor, list(self._gaps))
            except Exception:  # database away for a moment: streams wait, then resume
                await asyncio.sleep(self.poll_interval_s)
                continue
            self._advance(late, new)
            for event in [*late, *new]:
                for queue in [*self._subscribers.get(event.job_id, ()), *self._subscribers.get(ALL_JOBS, ())]:
                    if queue.qsize() < _QUEUE_LIMIT:
                        queue.put_nowait(event)
            if len(new) >= 2000:
                self._wake.set()

    async def subscribe(self, job_id: str, after_id: int = 0) -> Subscription:
        """Every event of ``job_id`` (or of every job: :data:`ALL_JOBS`) after ``after_id``, each
        once, in id order; then live ones.

        Close the subscription when done (``async with`` does it)."""
        queue: asyncio.Queue[JobEvent] = asyncio.Queue()
        if not self._subscribers:  # not polled meanwhile: go on from the newest event
            self._start_from(*await asyncio.to_thread(self._newest))
        self._subscribers[job_id].add(queue)
        return Subscription(self, job_id, queue, after_id)

    def _unsubscribe(self, job_id: str, queue: asyncio.Queue[JobEvent]) -> None:
        subscribers = self._subscribers.get(job_id)
        if subscribers is not None:
            subscribers.discard(queue)
            if not subscribers:
                del self._subscribers[job_id]

    def latest_id(self) -> int:
        """The newest event id in the table (blocking: call it in a thread)."""
        return self._last_id()

    def _replay(self, job_id: str, after: int) -> list[JobEvent]:
        with self.db.read() as s:
            if job_id == ALL_JOBS:
                return records.tail_events(s, after, limit=1000)
            return records.events_after(s, job_id, after, limit=1000)


class Subscription:
    """One reader of one job's events: the backlog from the table, then the live feed.

    A job's events come in id order. Every job's (:data:`ALL_JOBS`) come each once, but an
    event whose commit was late can follow a newer one (see the module's doc)."""

    def __init__(self, hub: EventHub, job_id: str, queue: asyncio.Queue[JobEvent], after_id: int) -> None:
        self.hub, self.job_id, self.queue, self.last = hub, job_id, queue, after_id
        self._backlog: list[JobEvent] = []
        self._replaying = True
        # every job's: the ids the backlog gave (the live feed may bring them again), else None
        self._replayed: set[int] | None = set() if job_id == ALL_JOBS else None

    def _returned(self, event: JobEvent) -> JobEvent:
        self.last = max(self.last, event.id)
        return event

    def _fresh(self, event: JobEvent) -> bool:
        """Whether a live event is new to this reader."""
        if self._replayed is None:
            return event.id > self.last
        return event.id not in self._replayed

    async def next(self, timeout: float) -> JobEvent | None:
        """The next event, or None if none came within ``timeout`` seconds."""
        while self._replaying and not self._backlog:
            self._backlog = await asyncio.to_thread(self.hub._replay, self.job_id, self.last)
            self._replaying = len(self._backlog) >= 1000
            if self._replayed is not None:
                self._replayed.update(e.id for e in self._backlog)
            self._backlog.reverse()
        if self._backlog:
            return self._returned(self._backlog.pop())
        try:
            # asyncio.timeout, not wait_for: wait_for wraps each get in a new task, and with many
            # subscribers that is a task per event per stream on the server's one event loop.
            async with asyncio.timeout(timeout):
                while True:
                    event = await self.queue.get()
                    if self._fresh(event):
                        return self._returned(event)
        except TimeoutError:
            return None

    def next_nowait(self) -> JobEvent | None:
        """The next event if one is already here (backlog or live feed), else None; never waits."""
        if self._backlog:
            return self._returned(self._backlog.pop())
        if self._replaying:
            return None  # the backlog is read from the table by next()
        while not self.queue.empty():
            event = self.queue.get_nowait()
            if self._fresh(event):
                return self._returned(event)
        return None

    @property
    def replaying(self) -> bool:
        """True while events are still to be read from the table (the backlog)."""
        return self._replaying

    def rewind(self) -> None:
        """Read the table again after the last event returned: the next calls see anything the
        live feed has not brought yet (e.g. a job's last events, once it is known to have ended)."""
        self._backlog = []
        self._replaying = True

    def close(self) -> None:
        self.hub._unsubscribe(self.job_id, self.queue)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
