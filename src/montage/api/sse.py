"""Server-sent events: replay after ``Last-Event-ID``, then follow live."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from fastapi import Request
from starlette.responses import StreamingResponse

from montage.api.auth import stream_slot
from montage.domain.jobs import JobEvent
from montage.services.events import EventHub, Subscription

#: Turns a core event into (event name, data) for one contract, or None to leave it out.
EventFormat = Callable[[JobEvent], tuple[str, dict[str, Any]] | None]

TERMINAL_KINDS = frozenset({"done", "failed", "canceled"})
_KEEPALIVE_S = 15.0
_MAX_FRAMES_PER_WRITE = 500
_FRAME_CACHE_SIZE = 4096
_FRAMES: OrderedDict[tuple[EventFormat, str, int, datetime], str] = OrderedDict()


def last_event_id(request: Request, query_value: str | None = None) -> int:
    raw = request.headers.get("last-event-id") or query_value or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


def frame(event_id: int | None, name: str, data: dict[str, Any]) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def event_stream(hub: EventHub, job_id: str, after_id: int, fmt: EventFormat,
                 ended: Callable[[], bool], request: Request) -> StreamingResponse:
    """A streaming response that ends after the job's terminal event, or when the job has
    ended and nothing newer than ``after_id`` remains to send. It holds one of the caller's
    concurrent streams (429 when the key has too many open)."""
    slot = stream_slot(request)

    async def body() -> AsyncIterator[str]:
        try:
            async for chunk in follow_events(hub, job_id, after_id, fmt, ended):
                yield chunk
        finally:
            if slot is not None:
                slot.release()

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def follow_events(hub: EventHub, job_id: str, after_id: int, fmt: EventFormat,
                        ended: Callable[[], bool]) -> AsyncIterator[str]:
    """The stream's chunks: each holds every event at hand (one write however far behind the
    client is); the stream ends after the job's terminal event, or once the job has ended and
    nothing newer than what was sent remains in the table."""
    yield "retry: 2000\n\n"
    wait = 0.5  # first look soon: a resumed stream of a finished job should end promptly
    async with await hub.subscribe(job_id, after_id) as subscription:
        while True:
            event = await subscription.next(timeout=wait)
            if event is None:
                if await _ENDED.check(job_id, ended):
                    subscription.rewind()  # the job's last events may still be on their way here
                    chunk, _ = await _gather(subscription, fmt, await subscription.next(timeout=0))
                    if chunk:
                        yield chunk
                    break
                wait = _KEEPALIVE_S
                yield ": keep-alive\n\n"
                continue
            chunk, finished = await _gather(subscription, fmt, event)
            if chunk:
                yield chunk
            if finished:
                break


async def _gather(subscription: Subscription, fmt: EventFormat, event: JobEvent | None) -> tuple[str, bool]:
    """``event`` and every later one already at hand, as one chunk (one write to the client
    however far behind it is); and whether the job's terminal event is among them."""
    frames: list[str] = []
    while event is not None and len(frames) < _MAX_FRAMES_PER_WRITE:
        frames.append(rendered(event, fmt))
        if event.kind in TERMINAL_KINDS:
            return "".join(frames), True
        event = subscription.next_nowait()
        if event is None and subscription.replaying:
            event = await subscription.next(timeout=0)
    return "".join(frames), False


def rendered(event: JobEvent, fmt: EventFormat) -> str:
    """The SSE frame of ``event`` in ``fmt`` ("" for events the contract leaves out), made once
    and shared by every stream of the job: events never change once written. The key names the
    job too, as ids alone repeat across databases (several apps in one process, as in tests)."""
    key = (fmt, event.job_id, event.id, event.created_at)
    text = _FRAMES.get(key)
    if text is None:
        formatted = fmt(event)
        text = frame(event.id, *formatted) if formatted is not None else ""
        _FRAMES[key] = text
        if len(_FRAMES) > _FRAME_CACHE_SIZE:
            _FRAMES.popitem(last=False)
    return text


class _EndedProbe:
    """Whether a job has ended, asked of the database at most once a second per job however
    many of its streams wonder at the same moment (200 streams timing out together would
    otherwise be 200 job loads queued on the server's thread pool, ahead of the hub's read)."""

    def __init__(self, max_age_s: float = 1.0) -> None:
        self.max_age_s = max_age_s
        self._answers: dict[str, tuple[float, asyncio.Future[bool]]] = {}

    async def check(self, job_id: str, ended: Callable[[], bool]) -> bool:
        loop = asyncio.get_running_loop()
        asked = self._answers.get(job_id)
        if asked is None or not self._usable(*asked, loop):
            for stale in [j for j, (t, f) in self._answers.items() if f.done() and loop.time() - t > self.max_age_s]:
                del self._answers[stale]
            asked = (loop.time(), asyncio.ensure_future(asyncio.to_thread(ended)))
            self._answers[job_id] = asked
        return await asyncio.shield(asked[1])

    def _usable(self, asked_at: float, answer: asyncio.Future[bool], loop: asyncio.AbstractEventLoop) -> bool:
        if answer.get_loop() is not loop or loop.time() - asked_at > self.max_age_s:
            return False
        return not answer.done() or (not answer.cancelled() and answer.exception() is None)


_ENDED = _EndedProbe()
