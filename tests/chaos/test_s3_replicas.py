"""Workers write artifacts to S3 (moto's server over HTTP) and any API replica serves them: two
replicas and a worker, each with its own data folder as on three machines, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from montage.client import MontageClient
from tests.support.cluster import Cluster, cluster
from tests.support.databases import POSTGRES_URL
from tests.support.s3 import S3Server, s3_server
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.chaos,
              pytest.mark.skipif(not POSTGRES_URL, reason="MONTAGE_TEST_POSTGRES_URL not set")]


@pytest.fixture
def machines(tmp_path: Path) -> Iterator[tuple[Cluster, S3Server]]:
    with s3_server() as s3, cluster(tmp_path, env=s3.env()) as group:
        group.add_api(data_dir=tmp_path / "api-1")
        group.add_api(data_dir=tmp_path / "api-2", env={"MONTAGE_S3_SERVE": "redirect"})
        group.add_worker("w-1", data_dir=tmp_path / "worker-1")
        yield group, s3


def test_a_worker_writes_and_each_replica_serves_the_same_urls(machines: tuple[Cluster, S3Server],
                                                               tmp_path: Path) -> None:
    group, s3 = machines
    streaming, redirecting = group.apis
    with MontageClient(streaming.url) as client:
        job = client.submit("steps", {"seconds": 0})
        done = wait_for(lambda: (j := client.job(job["id"]))["status"] == "SUCCEEDED" and j, timeout=60,
                        what="job")
        artifacts = done["artifacts"]
    assert not (tmp_path / "api-1" / "assets" / job["id"]).exists()  # nothing local on the replicas
    stored = s3.get(f"runs/{job['id']}/one/runs.jsonl")
    url = f"{streaming.url}/assets/{job['id']}"
    manifest = httpx.get(f"{url}/manifest.json")
    assert manifest.status_code == 200 and manifest.headers["content-type"].startswith("application/json")
    assert manifest.json()["status"] == "SUCCEEDED"
    assert {a["path"] for a in manifest.json()["assets"]} == {a["url"] for a in artifacts}
    assert httpx.get(f"{url}/one/runs.jsonl").content == stored
    part = httpx.get(f"{url}/one/runs.jsonl", headers={"Range": "bytes=2-9"})
    assert part.status_code == 206 and part.content == stored[2:10]
    for bad in ["../../montage.db", "..%2f..%2fmontage.db", "one/../../../x", "missing.png"]:
        assert httpx.get(f"{url}/{bad}").status_code == 404, bad
    moved = httpx.get(f"{redirecting.url}/assets/{job['id']}/one/runs.jsonl")
    assert moved.status_code == 307 and moved.headers["location"].startswith(s3.endpoint)
    assert httpx.get(moved.headers["location"]).content == stored
