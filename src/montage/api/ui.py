"""The dashboard at ``/ui`` and the one live feed it needs beyond the core API.

``/ui`` and every path under it answer the single page (``montage/web/index.html``); its
scripts and styles are served from ``/ui/static/``. ``GET /api/v1/events`` streams the
status, stage and progress changes of every job as server-sent events, so the job list
stays live over one connection instead of one stream per row.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import StreamingResponse

from montage.api.auth import stream_slot
from montage.api.core import event_body
from montage.api.deps import services
from montage.api.sse import frame
from montage.domain import access
from montage.errors import NotFound
from montage.services.events import ALL_JOBS
from montage.services.jobs import JobService

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
#: Event kinds the job list shows; log lines and assets stay on the per-job stream.
LIST_KINDS = frozenset({"status", "stage", "progress", "approval", "done", "failed", "canceled"})
_KEEPALIVE_S = 15.0

router = APIRouter()


@router.get("/api/v1/events", tags=["core"], response_class=Response,
            summary="SSE: every job's status, stage and progress changes, live (resume with Last-Event-ID)")
async def all_job_events(request: Request, last_event_id_q: Annotated[
        str | None, Query(alias="last_event_id", description="Resume after this event id.")] = None) -> Response:
    hub = services(request).hub
    after = _resume_from(request.headers.get("last-event-id") or last_event_id_q)
    if after is None:  # a new reader starts from now, not from the first event ever written
        after = await asyncio.to_thread(hub.latest_id)

    slot = stream_slot(request)
    shows = _visibility(services(request).jobs)

    async def body() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n\n"
            async with await hub.subscribe(ALL_JOBS, after) as subscription:
                while True:
                    event = await subscription.next(timeout=_KEEPALIVE_S)
                    if event is None:
                        yield ": keep-alive\n\n"
                    elif event.kind in LIST_KINDS and await shows(event.job_id):
                        yield frame(event.id, event.kind, event_body(event))
        finally:
            if slot is not None:
                slot.release()

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _visibility(jobs: JobService) -> Callable[[str], Awaitable[bool]]:
    """Whether the caller may see a job's events: always for an admin key (and the dev mode);
    for another key, only its own jobs (looked up once per job per stream)."""
    if access.owner_filter() is None:
        async def everything(job_id: str) -> bool:
            return True
        return everything
    seen: dict[str, bool] = {}

    async def own(job_id: str) -> bool:
        if job_id not in seen:
            if len(seen) > 10_000:
                seen.clear()
            try:
                await asyncio.to_thread(jobs.get, job_id)
                seen[job_id] = True
            except NotFound:
                seen[job_id] = False
        return seen[job_id]
    return own


def _resume_from(raw: str | None) -> int | None:
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


def _page() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@router.get("/ui", include_in_schema=False)
def dashboard() -> FileResponse:
    return _page()


@router.get("/ui/{route:path}", include_in_schema=False)
def dashboard_route(route: str) -> FileResponse:
    """Any dashboard address (``/ui/jobs/…``, ``/ui/submit``) is the same page; its script routes."""
    return _page()


class _RevalidatedFiles(StaticFiles):
    """Static files a browser must revalidate (a cheap 304), so an upgraded server never runs old scripts."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def install_ui(app: FastAPI) -> None:
    """Serve the dashboard and the all-jobs event feed from ``app``."""
    app.mount("/ui/static", _RevalidatedFiles(directory=WEB_DIR), name="ui-static")
    app.include_router(router)
