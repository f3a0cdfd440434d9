"""Where a job's files live, its manifest, and safe resolution of served paths."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from montage.domain.jobs import Artifact

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RemoteAsset:
    """A served file that lives in a remote store (S3): its key and size, not a local path."""

    key: str
    bytes: int


class AssetStore:
    """Local artifact storage under ``<data-dir>/assets/<job_id>/`` — the default backend.

    The interface every backend keeps: a job's local working folder (``job_dir``, ``workdir``),
    ``publish`` a file a stage declared, ``put_bytes``, ``write_manifest``, ``remove_job``, and
    ``locate`` a file to serve. Here the working folder is the store itself, so publishing is
    nothing; :class:`montage.assets.s3.S3AssetStore` uploads instead.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def job_dir(self, job_id: str) -> Path:
        if not job_id or "/" in job_id or "\\" in job_id or job_id in (".", "..") or "\x00" in job_id:
            raise ValueError(f"bad job id {job_id!r}")
        return self.root / job_id

    def resolve(self, job_id: str, relpath: str) -> Path | None:
        """The file ``relpath`` inside the job's folder, or None if it is not one.

        Refuses anything that would leave the folder: ``..``, absolute paths, backslashes,
        NUL, and symlinks (or symlinked parents) pointing outside.
        """
        if not relpath or "\x00" in relpath or "\\" in relpath or relpath.startswith("/"):
            return None
        try:
            base = self.job_dir(job_id).resolve()
        except ValueError:
            return None
        candidate = (base / relpath).resolve()
        if candidate != base and base not in candidate.parents:
            return None
        return candidate if candidate.is_file() else None

    def locate(self, job_id: str, relpath: str) -> Path | RemoteAsset | None:
        """The file to serve for ``/assets/{job_id}/{relpath}``, or None (never outside the job)."""
        return self.resolve(job_id, relpath)

    def workdir(self, job_id: str) -> Path:
        """The job's folder on this machine, holding every file its earlier stages made."""
        return self.job_dir(job_id)

    def publish(self, job_id: str, relpath: str) -> None:
        """Make a file a stage wrote in its working folder available to every replica."""

    def put_bytes(self, job_id: str, relpath: str, data: bytes) -> None:
        """Store a file given as bytes (an upload) for the job."""
        target = self.job_dir(job_id) / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.publish(job_id, relpath)

    def write_manifest(self, job_id: str, manifest: dict[str, Any]) -> Path:
        """Write ``manifest.json`` atomically (readers never see half a file)."""
        folder = self.job_dir(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / MANIFEST
        tmp = folder / f".{MANIFEST}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(target)
        return target

    def remove_job(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)


def asset_url(job_id: str, relpath: str) -> str:
    return f"/assets/{job_id}/{relpath}"


def build_manifest(job: Any, artifacts: Sequence[Artifact]) -> dict[str, Any]:
    """The manifest clients read: job summary plus every artifact with its URL."""
    return {
        "job_id": job.id,
        "pipeline": job.pipeline,
        "status": job.status.value if hasattr(job.status, "value") else str(job.status),
        "updated_at": job.updated_at.isoformat(),
        "assets": [
            {
                "role": a.role,
                "stage": a.stage,
                "path": asset_url(job.id, a.path),
                "file": a.path,
                "mime": a.mime,
                "bytes": a.bytes,
                "sha256": a.sha256,
            }
            for a in artifacts
        ],
    }
