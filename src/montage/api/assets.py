"""Artifact files at ``/assets/{job_id}/…``: right MIME type, Range support, nothing outside."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from montage.api.deps import services
from montage.errors import NotFound
from montage.generators.standalone import guess_mime

router = APIRouter(tags=["assets"])


@router.get("/assets/{job_id}/{path:path}", summary="A file a job produced (supports Range)")
def get_asset(job_id: str, path: str, request: Request) -> FileResponse:
    target = services(request).runtime.assets.resolve(job_id, path)
    if target is None:
        raise NotFound("asset not found", job_id=job_id, path=path)
    headers = {"Cache-Control": "no-cache"} if path == "manifest.json" else None
    return FileResponse(target, media_type=guess_mime(path), headers=headers)
