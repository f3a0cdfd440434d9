"""Server-sent events: replay after ``Last-Event-ID``, then follow live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from starlette.responses import StreamingResponse

from montage.api.auth import stream_slot
from montage.domain.jobs import JobEvent
from montage.services.events import EventHub

#: Turns a core event into (event name, data) for one contract, or None to leave it out.
EventFormat = Callable[[JobEvent], tuple[str, dict[str, Any]] | None]

TERMINAL_KINDS = frozenset({"done", "failed", "canceled"})
_KEEPALIVE_S = 15.0


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
            async for chunk in _follow(hub, job_id, after_id, fmt, ended):
                yield chunk
        finally:
            if slot is not None:
                slot.release()

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _follow(hub: EventHub, job_id: str, after_id: int, fmt: EventFormat,
                  ended: Callable[[], bool]) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    wait = 0.5  # first look soon: a resumed stream of a finished job should end promptly
    async with await hub.subscribe(job_id, after_id) as subscription:
        while True:
            event = await subscription.next(timeout=wait)
            if event is None:
                if await asyncio.to_thread(ended):
                    break
                wait = _KEEPALIVE_S
                yield ": keep-alive\n\n"
                continue
            formatted = fmt(event)
            if formatted is not None:
                yield frame(event.id, *formatted)
            if event.kind in TERMINAL_KINDS:
                break
