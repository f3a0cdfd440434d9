"""Artifact files at ``/assets/{job_id}/…``: right MIME type, Range support, nothing outside.

With API keys on, a file is served to the key that owns its job (or an admin key), or to anyone
holding a signed link from ``GET /api/v1/jobs/{job_id}/asset-link`` (checked by ``api/auth.py``).
Local store: the file itself. S3 store: streamed from the bucket (Range passed through) or a
307 redirect to a presigned URL, as ``MONTAGE_S3_SERVE`` says; the URL is the same either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from montage.api.deps import services
from montage.assets.store import MANIFEST, RemoteAsset
from montage.errors import NotFound
from montage.generators.standalone import guess_mime

router = APIRouter(tags=["assets"])


@router.get("/assets/{job_id}/{path:path}", summary="A file a job produced (supports Range)")
def get_asset(job_id: str, path: str, request: Request) -> Response:
    svc = services(request)
    try:  # only a job's folder is served (not a stray one) and another key's job is not found
        svc.jobs.get(job_id)
    except NotFound:
        raise NotFound("asset not found", job_id=job_id, path=path) from None
    target = svc.runtime.assets.locate(job_id, path)
    if target is None:
        raise NotFound("asset not found", job_id=job_id, path=path)
    headers = {"Cache-Control": "no-cache"} if path == MANIFEST else {}
    if isinstance(target, Path):
        return FileResponse(target, media_type=guess_mime(path), headers=headers or None)
    return _remote(request, target, path, headers)


def _remote(request: Request, asset: RemoteAsset, path: str, headers: dict[str, str]) -> Response:
    from montage.assets.s3 import S3AssetStore

    runtime = services(request).runtime
    store = runtime.assets
    assert isinstance(store, S3AssetStore)
    if runtime.settings.s3_serve == "redirect":
        url = store.presigned_url(asset, runtime.settings.s3_presign_expiry_s)
        return RedirectResponse(url, status_code=307, headers=headers)
    body = store.read(asset, request.headers.get("range"))
    return StreamingResponse(body.chunks, status_code=body.status, media_type=guess_mime(path),
                             headers={**body.headers, **headers})


@router.get("/api/v1/jobs/{job_id}/asset-link", tags=["core"],
            summary="A signed, expiring URL of one of the job's files (works without an API key)")
def asset_link(job_id: str, request: Request,
               path: Annotated[str, Query(min_length=1, max_length=1000, description="File inside the job's folder.")],
               ttl_s: Annotated[float | None, Query(gt=0, le=2_592_000, description="Lifetime in seconds.")] = None,
               ) -> dict[str, Any]:
    svc = services(request)
    svc.jobs.get(job_id)
    if svc.runtime.assets.locate(job_id, path) is None:
        raise NotFound("asset not found", job_id=job_id, path=path)
    url, expires = request.app.state.gate.links.sign(job_id, path, ttl_s)
    return {"url": url, "expires_at": expires}
