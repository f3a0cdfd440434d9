"""The app factory: every contract's router on one port, over one set of services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from montage import __version__
from montage.api import assets, core, media, rematrix
from montage.api.deps import Services
from montage.api.errors import install_error_handlers
from montage.engine.runtime import Engine
from montage.services.events import EventHub
from montage.services.jobs import JobService
from montage.services.runtime import Runtime
from montage.settings import Settings

log = logging.getLogger("montage.api")


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, counting as they stream in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = {"error": {"code": "PAYLOAD_TOO_LARGE", "message": f"request body over {self.limit} bytes",
                          "details": {"limit": self.limit}}}
        await JSONResponse(body, status_code=413)(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(settings: Settings, *, executes: bool | None = None) -> FastAPI:
    """The montage ASGI app. Opens the database and launches DBOS in its lifespan."""
    run_worker = settings.run_worker if executes is None else executes

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.open(settings)
        engine = Engine(runtime, role="serve" if run_worker else "api", executes=run_worker)
        await asyncio.to_thread(engine.launch)
        hub = EventHub(runtime.db)
        runtime.on_change(hub.nudge)
        await hub.start()
        app.state.services = Services(runtime=runtime, jobs=JobService(runtime, engine), hub=hub)
        app.state.engine = engine
        log.info("montage %s ready (%s, worker=%s)", __version__, settings.app_database_url.split(":")[0],
                 run_worker)
        try:
            yield
        finally:
            await hub.stop()
            await asyncio.to_thread(engine.shutdown)
            runtime.close()

    app = FastAPI(title="montage", version=__version__, lifespan=lifespan,
                  description="Durable generative-media jobs: five API contracts on one core.")
    install_error_handlers(app)
    app.include_router(core.router)
    app.include_router(assets.router)
    app.include_router(rematrix.router)
    app.include_router(media.router)
    app.state.error_shapes.register("/api/jobs", media.detail_body)

    @app.get("/health", tags=["ops"], summary="Is the server up and its database reachable?")
    def health(request: Request) -> JSONResponse:
        return _health(request)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # type: ignore[arg-type]
    return app


def _health(request: Request) -> JSONResponse:
    details: dict[str, Any] = {}
    healthy = True
    try:
        request.app.state.services.runtime.db.ping()
        details["database"] = {"status": "healthy"}
    except Exception as exc:
        healthy = False
        details["database"] = {"status": "unhealthy", "error": str(exc)[:200]}
    body = {"status": "healthy" if healthy else "unhealthy", "service": "montage", "version": __version__,
            "details": details}
    return JSONResponse(body, status_code=200 if healthy else 503)
