"""``GET /health``: every dependency checked for real, in the task-manager contract's shape."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from montage import __version__
from montage.services.health import HealthService

router = APIRouter(tags=["ops"])


@router.get("/health", summary="Database, queue, workers, storage and upstream endpoints; 503 if no work can be taken")
def health(request: Request) -> JSONResponse:
    service: HealthService = request.app.state.health
    report = service.report()
    body = {"status": report.status, "service": "montage", "version": __version__, "details": report.details}
    return JSONResponse(body, status_code=200 if report.can_take_work else 503)
