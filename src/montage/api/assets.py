"""Artifact files at ``/assets/{job_id}/…``: right MIME type, Range support, nothing outside.

Local store: the file itself. S3 store: streamed from the bucket (Range passed through) or a
307 redirect to a presigned URL, as ``MONTAGE_S3_SERVE`` says; the URL is the same either way.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from montage.api.deps import services
from montage.assets.store import MANIFEST, RemoteAsset
from montage.errors import NotFound
from montage.generators.standalone import guess_mime

router = APIRouter(tags=["assets"])


@router.get("/assets/{job_id}/{path:path}", summary="A file a job produced (supports Range)")
def get_asset(job_id: str, path: str, request: Request) -> Response:
    runtime = services(request).runtime
    target = runtime.assets.locate(job_id, path)
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
