"""The app factory: every contract's router on one port, over one set of services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from montage import __version__
from montage.api import (
    assets,
    batch,
    core,
    health,
    keys,
    media,
    metrics,
    rematrix,
    servers,
    task_stats,
    tasks,
    ui,
    videos,
    workflows,
)
from montage.api.auth import Authenticate, open_gate
from montage.api.deps import Services
from montage.api.errors import error_response, install_error_handlers
from montage.api.openapi import install_openapi
from montage.api.registry import install_error_shape, open_registry
from montage.api.task_deps import TaskServices
from montage.engine.probes import dbos_queues
from montage.engine.runtime import Engine
from montage.engine.server_queues import ServerQueues
from montage.services.events import EventHub
from montage.services.health import HealthService
from montage.services.jobs import JobService
from montage.services.runtime import Runtime
from montage.settings import Settings

log = logging.getLogger("montage.api")


# The order of the API docs' sections (the routes themselves are included hottest first).
DOC_TAGS = ("core", "access", "assets", "rematrix", "web-media", "servers", "batch", "workflows", "videos",
            "task-manager", "ops")


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, counting as they stream in (uploads are
    spooled to temporary files as they arrive, so this is also the hard cap on an upload)."""

    def __init__(self, app: ASGIApp, limit: int, owner: FastAPI) -> None:
        self.app, self.limit, self.owner = app, limit, owner

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
        response = error_response(self.owner, scope["path"], 413, "PAYLOAD_TOO_LARGE",
                                  f"request body over {self.limit} bytes", {"limit": self.limit})
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(settings: Settings, *, executes: bool | None = None,
               on_ready: Callable[[], None] | None = None) -> FastAPI:
    """The montage ASGI app. Opens the database and launches DBOS in its lifespan, then calls
    ``on_ready`` (`montage serve`: :func:`settle_process`)."""
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
        await asyncio.to_thread(open_registry, app, runtime, app.state.services.jobs, ServerQueues(settings))
        app.state.task_services = TaskServices.build(app.state.services)
        app.state.health = HealthService(runtime, lambda: dbos_queues(settings))
        app.state.engine = engine
        app.state.gate = await asyncio.to_thread(open_gate, runtime)
        if on_ready is not None:
            on_ready()
        log.info("montage %s ready (%s, worker=%s)", __version__, settings.app_database_url.split(":")[0],
                 run_worker)
        try:
            yield
        finally:
            await hub.stop()
            await asyncio.to_thread(engine.shutdown)
            runtime.close()

    app = FastAPI(title="montage", version=__version__, lifespan=lifespan,
                  description="Durable generative-media jobs: five API contracts on one core.",
                  openapi_tags=[{"name": tag} for tag in DOC_TAGS])
    install_error_handlers(app)
    # FastAPI tries the routes in the order they were included, at a few microseconds each, so
    # the routes clients poll come first: with the video API last, matching took a third of a
    # status poll's CPU. No two routers' paths overlap, so the order changes nothing else.
    for router in (videos.router, tasks.router, core.router, rematrix.router, media.router, assets.router,
                   task_stats.router, keys.router, servers.router, batch.router, workflows.router,
                   health.router, metrics.router):
        app.include_router(router)
    app.state.error_shapes.register("/jobs", rematrix.ERROR_SHAPE)
    app.state.error_shapes.register("/api/jobs", media.ERROR_SHAPE)
    install_error_shape(app)
    app.state.error_shapes.register("/v1/videos", videos.ERROR_SHAPE)
    for prefix in ("/api/v1/tasks", "/api/v1/stats", "/api/v1/queues", "/api/v1/kbs"):
        app.state.error_shapes.register(prefix, tasks.ERROR_SHAPE)
    metrics.install_metrics(app)
    install_openapi(app)

    ui.install_ui(app)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui")

    app.add_middleware(Authenticate, owner=app)  # type: ignore[arg-type]
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, owner=app)  # type: ignore[arg-type]
    return app

