"""Artifacts on an S3-compatible store, for deployments over several machines.

A stage still writes into a local working folder (generators work with paths); each file it
declares is uploaded to ``s3://<bucket>/<prefix><job_id>/<path>``, and so is the manifest.
Any API replica serves ``/assets/{job_id}/…`` from the bucket (streamed with Range support, or
redirected to a presigned URL), and an executor that resumes a job another machine started
first fetches the job's files it lacks.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from montage.assets.store import MANIFEST, AssetStore, RemoteAsset
from montage.errors import ServiceUnavailable

log = logging.getLogger("montage.assets")
_CHUNK = 256 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class S3Location:
    """Where the bucket is and how to reach it (from the ``s3_*`` settings)."""

    bucket: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    prefix: str = ""


@dataclass(frozen=True)
class RemoteBody:
    """An object (or a byte range of it) being read from the bucket."""

    status: int
    headers: dict[str, str]
    chunks: Iterator[bytes]


def safe_key_path(relpath: str) -> str | None:
    """``relpath`` if it stays inside a job's folder (no ``..``, ``.``, empty or absolute parts)."""
    if not relpath or "\x00" in relpath or "\\" in relpath or relpath.startswith("/"):
        return None
    parts = relpath.split("/")
    return None if any(p in ("", ".", "..") for p in parts) else relpath


class S3AssetStore(AssetStore):
    """The job's working folder on local disk, the store of record in the bucket."""

    def __init__(self, scratch: Path, where: S3Location) -> None:
        super().__init__(scratch)
        self.where = where
        self.bucket = where.bucket
        self.prefix = where.prefix.strip("/") + "/" if where.prefix.strip("/") else ""
        self.client = boto3.client(
            "s3", endpoint_url=where.endpoint_url, region_name=where.region,
            aws_access_key_id=where.access_key_id, aws_secret_access_key=where.secret_access_key,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, signature_version="s3v4"),
        )

    def check(self) -> None:
        """Fail clearly at start if the bucket cannot be reached."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailable(f"the S3 bucket {self.bucket!r} cannot be reached: {exc}",
                                     bucket=self.bucket, endpoint=self.where.endpoint_url) from None

    def key(self, job_id: str, relpath: str) -> str:
        self.job_dir(job_id)  # refuses a bad job id
        return f"{self.prefix}{job_id}/{relpath}"

    # -- writing -------------------------------------------------------------------------
    def publish(self, job_id: str, relpath: str) -> None:
        source = self.job_dir(job_id) / relpath
        self.client.upload_file(str(source), self.bucket, self.key(job_id, relpath))

    def write_manifest(self, job_id: str, manifest: dict[str, Any]) -> Path:
        target = super().write_manifest(job_id, manifest)
        self.client.upload_file(str(target), self.bucket, self.key(job_id, MANIFEST),
                                ExtraArgs={"ContentType": "application/json"})
        return target

    def remove_job(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)
        keys = [{"Key": k} for k in self._keys(job_id)]
        for start in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[start:start + 1000]})

    # -- a job resumed on this machine -------------------------------------------------------
    def workdir(self, job_id: str) -> Path:
        """The job's folder here, with the files earlier stages stored that this machine lacks."""
        folder = self.job_dir(job_id)
        base = self.key(job_id, "")
        for key in self._keys(job_id):
            relpath = safe_key_path(key[len(base):])
            if relpath is None or relpath == MANIFEST:
                continue
            target = folder / relpath
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                self.client.download_file(self.bucket, key, str(target))
        return folder

    def _keys(self, job_id: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=self.key(job_id, ""))
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    # -- serving -----------------------------------------------------------------------------
    def locate(self, job_id: str, relpath: str) -> RemoteAsset | None:
        safe = safe_key_path(relpath)
        if safe is None:
            return None
        try:
            key = self.key(job_id, safe)
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ValueError:
            return None
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise
        return RemoteAsset(key=key, bytes=int(head["ContentLength"]))

    def presigned_url(self, asset: RemoteAsset, expires_s: int) -> str:
        return str(self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": asset.key}, ExpiresIn=expires_s))

    def read(self, asset: RemoteAsset, byte_range: str | None) -> RemoteBody:
        """The object, or the ``Range`` of it the client asked for (206), streamed in chunks.
        A range past the end is 416, as S3 answers it."""
        extra = {"Range": byte_range} if byte_range else {}
        try:
            got = self.client.get_object(Bucket=self.bucket, Key=asset.key, **extra)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return RemoteBody(416, {"Content-Range": f"bytes */{asset.bytes}"}, iter(()))
            raise
        headers = {"Content-Length": str(got["ContentLength"]), "Accept-Ranges": "bytes"}
        if got.get("ContentRange"):
            headers["Content-Range"] = str(got["ContentRange"])
        status = 206 if got.get("ContentRange") else 200
        return RemoteBody(status, headers, got["Body"].iter_chunks(_CHUNK))
