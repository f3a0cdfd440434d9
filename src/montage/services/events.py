"""Live job events for streams: replay from the table, then follow.

One poller per process tails the events table (woken at once by writes in this process,
and every ``poll_interval_s`` for writes by executors elsewhere) and fans each new event
out to the subscribers of its job, so 200 clients on one job cost one query, not 200.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

from montage.domain.jobs import JobEvent
from montage.store import records
from montage.store.db import Database

_QUEUE_LIMIT = 10_000
#: Subscribe to this instead of a job id to receive the events of every job (the dashboard's list).
ALL_JOBS = "*"


class EventHub:
    def __init__(self, db: Database, poll_interval_s: float = 0.1) -> None:
        self.db = db
        self.poll_interval_s = poll_interval_s
        self._subscribers: dict[str, set[asyncio.Queue[JobEvent]]] = defaultdict(set)
        self._cursor = 0
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def open_streams(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._cursor = await asyncio.to_thread(self._last_id)
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

    def _tail(self, after: int) -> list[JobEvent]:
        with self.db.read() as s:
            return records.tail_events(s, after)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
            self._wake.clear()
            if not self._subscribers:
                continue
            try:
                events = await asyncio.to_thread(self._tail, self._cursor)
            except Exception:  # database away for a moment: streams wait, then resume
                await asyncio.sleep(self.poll_interval_s)
                continue
            for event in events:
                self._cursor = max(self._cursor, event.id)
                for queue in [*self._subscribers.get(event.job_id, ()), *self._subscribers.get(ALL_JOBS, ())]:
                    if queue.qsize() < _QUEUE_LIMIT:
                        queue.put_nowait(event)
            if len(events) >= 2000:
                self._wake.set()

    async def subscribe(self, job_id: str, after_id: int = 0) -> Subscription:
        """Every event of ``job_id`` (or of every job: :data:`ALL_JOBS`) after ``after_id``, each
        once, in id order; then live ones.

        Close the subscription when done (``async with`` does it)."""
        queue: asyncio.Queue[JobEvent] = asyncio.Queue()
        if not self._subscribers:
            self._cursor = max(self._cursor, await asyncio.to_thread(self._last_id))
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
    """One reader of one job's events: the backlog from the table, then the live feed."""

    def __init__(self, hub: EventHub, job_id: str, queue: asyncio.Queue[JobEvent], after_id: int) -> None:
        self.hub, self.job_id, self.queue, self.last = hub, job_id, queue, after_id
        self._backlog: list[JobEvent] = []
        self._replaying = True

    async def next(self, timeout: float) -> JobEvent | None:
        """The next event, or None if none came within ``timeout`` seconds."""
        while self._replaying and not self._backlog:
            self._backlog = await asyncio.to_thread(self.hub._replay, self.job_id, self.last)
            self._replaying = len(self._backlog) >= 1000
            self._backlog.reverse()
        if self._backlog:
            event = self._backlog.pop()
            self.last = event.id
            return event
        try:
            # asyncio.timeout, not wait_for: wait_for wraps each get in a new task, and with many
            # subscribers that is a task per event per stream on the server's one event loop.
            async with asyncio.timeout(timeout):
                while True:
                    event = await self.queue.get()
                    if event.id > self.last:
                        self.last = event.id
                        return event
        except TimeoutError:
            return None

    def next_nowait(self) -> JobEvent | None:
        """The next event if one is already here (backlog or live feed), else None; never waits."""
        if self._backlog:
            event = self._backlog.pop()
            self.last = event.id
            return event
        if self._replaying:
            return None  # the backlog is read from the table by next()
        while not self.queue.empty():
            event = self.queue.get_nowait()
            if event.id > self.last:
                self.last = event.id
                return event
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
