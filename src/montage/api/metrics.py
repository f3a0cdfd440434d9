"""``GET /metrics``: Prometheus text, from a registry of this app's own (no global state).

Tasks by type and status, queue depth by priority and task run-time histograms are read from
the database at each scrape, so every replica reports the same truth whichever executor ran
the work; request latency is measured here (until the response starts, so a long SSE stream
counts its time to open); open SSE streams come from this process's event hub.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from montage.api.tasks import STATUS
from montage.domain.jobs import JobStatus, Priority
from montage.pipelines.tasks import task_type_of

router = APIRouter(tags=["ops"])

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StateCollector(Collector):
    """Figures read at scrape time from the app's services."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        services = getattr(self.app.state, "services", None)
        if services is not None:
            yield GaugeMetricFamily("montage_sse_open_streams", "Server-sent event streams open in this process",
                                    value=services.hub.open_streams)
        task_services = getattr(self.app.state, "task_services", None)
        if task_services is None:
            return
        snapshot = task_services.stats.metrics()
        tasks = GaugeMetricFamily("montage_tasks", "Tasks by type and status", labels=["task_type", "status"])
        for (pipeline, status), n in sorted(snapshot.tasks.items()):
            tasks.add_metric([task_type_of(pipeline), STATUS[JobStatus(status)]], n)
        yield tasks
        depth = GaugeMetricFamily("montage_queue_depth", "Queued jobs by priority", labels=["priority"])
        for priority in Priority:
            depth.add_metric([priority.value], snapshot.queued_by_priority.get(priority.value, 0))
        yield depth
        durations = HistogramMetricFamily("montage_task_duration_seconds", "Run time of ended tasks",
                                          labels=["task_type"])
        for pipeline, h in sorted(snapshot.durations.items()):
            buckets = [(repr(b), c) for b, c in zip(h.bounds, h.cumulative, strict=True)] + [("+Inf", h.count)]
            durations.add_metric([task_type_of(pipeline)], buckets, sum_value=h.total_s)
        yield durations


class RequestLatency:
    """ASGI middleware observing each HTTP request's latency by method, route and status."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app, self.histogram = app, histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observed = False

        def observe(status: int) -> None:
            nonlocal observed
            if not observed:
                observed = True
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                self.histogram.labels(scope["method"], route, str(status)).observe(time.perf_counter() - started)

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                observe(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            observe(500)


def install_metrics(app: FastAPI) -> None:
    """Give ``app`` its own registry, the latency middleware and the state collector."""
    registry = CollectorRegistry(auto_describe=False)
    histogram = Histogram("montage_http_request_duration_seconds", "HTTP request latency until the response starts",
                          ["method", "route", "status"], registry=registry, buckets=LATENCY_BUCKETS)
    registry.register(StateCollector(app))
    app.state.metrics_registry = registry
    app.add_middleware(RequestLatency, histogram=histogram)  # type: ignore[arg-type]


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    registry: Any = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
