"""A local S3-compatible server (moto's server mode) on a free loopback port, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from tests.support.server import free_port

ACCESS_KEY = "montage-test"
SECRET_KEY = "montage-test-secret"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str

    def env(self, **extra: str) -> dict[str, str]:
        """The ``MONTAGE_*`` variables that point a montage process at this bucket."""
        return {"MONTAGE_ASSETS_BACKEND": "s3", "MONTAGE_S3_BUCKET": self.bucket,
                "MONTAGE_S3_ENDPOINT_URL": self.endpoint, "MONTAGE_S3_ACCESS_KEY_ID": ACCESS_KEY,
                "MONTAGE_S3_SECRET_ACCESS_KEY": SECRET_KEY, "MONTAGE_S3_PREFIX": "runs/", **extra}

    def settings(self) -> dict[str, Any]:
        return {"assets_backend": "s3", "s3_bucket": self.bucket, "s3_endpoint_url": self.endpoint,
                "s3_access_key_id": ACCESS_KEY, "s3_secret_access_key": SECRET_KEY, "s3_prefix": "runs/"}

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def keys(self, prefix: str = "") -> set[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def get(self, key: str) -> bytes:
        return bytes(self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read())


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3 in a thread of this process, answering HTTP on 127.0.0.1, with a fresh bucket."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        s3 = S3Server(endpoint=f"http://127.0.0.1:{port}", bucket=f"montage-{uuid.uuid4().hex[:10]}")
        s3.client().create_bucket(Bucket=s3.bucket)
        yield s3
    finally:
        server.stop()
