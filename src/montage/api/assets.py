"""Artifact files at ``/assets/{job_id}/…``: right MIME type, Range support, nothing outside.

With API keys on, a file is served to the key that owns its job (or an admin key), or to anyone
holding a signed link from ``GET /api/v1/jobs/{job_id}/asset-link`` (checked by ``api/auth.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from montage.api.deps import services
from montage.errors import NotFound
from montage.generators.standalone import guess_mime

router = APIRouter(tags=["assets"])


@router.get("/assets/{job_id}/{path:path}", summary="A file a job produced (supports Range)")
def get_asset(job_id: str, path: str, request: Request) -> FileResponse:
    svc = services(request)
    try:  # only a job's folder is served (not a stray one) and another key's job is not found
        svc.jobs.get(job_id)
    except NotFound:
        raise NotFound("asset not found", job_id=job_id, path=path) from None
    target = svc.runtime.assets.resolve(job_id, path)
    if target is None:
        raise NotFound("asset not found", job_id=job_id, path=path)
    headers = {"Cache-Control": "no-cache"} if path == "manifest.json" else None
    return FileResponse(target, media_type=guess_mime(path), headers=headers)


@router.get("/api/v1/jobs/{job_id}/asset-link", tags=["core"],
            summary="A signed, expiring URL of one of the job's files (works without an API key)")
def asset_link(job_id: str, request: Request,
               path: Annotated[str, Query(min_length=1, max_length=1000, description="File inside the job's folder.")],
               ttl_s: Annotated[float | None, Query(gt=0, le=2_592_000, description="Lifetime in seconds.")] = None,
               ) -> dict[str, Any]:
    svc = services(request)
    svc.jobs.get(job_id)
    if svc.runtime.assets.resolve(job_id, path) is None:
        raise NotFound("asset not found", job_id=job_id, path=path)
    url, expires = request.app.state.gate.links.sign(job_id, path, ttl_s)
    return {"url": url, "expires_at": expires}
