"""Artifacts on an S3-compatible store (moto's server over HTTP): stages upload what they declare,
the manifest follows, a machine that resumes a job fetches what it lacks, and nothing outside a
job's folder is reachable."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from montage.assets.s3 import S3AssetStore
from montage.assets.store import RemoteAsset
from tests.integration.conftest import Core
from tests.support.s3 import S3Server, s3_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def core_settings(s3: S3Server) -> dict[str, Any]:
    return s3.settings()


@pytest.fixture(autouse=True)
def _sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the asset store does not depend on the database (the multi-process S3 test uses PostgreSQL)")


def test_stage_files_and_manifest_land_in_the_bucket(core: Core, s3: S3Server) -> None:
    job = core.submit("steps", {"seconds": 0})
    core.wait_status(job.id, "SUCCEEDED")
    keys = s3.keys(f"runs/{job.id}/")
    assert keys == {f"runs/{job.id}/{p}" for p in ("one/runs.jsonl", "two/runs.jsonl", "three/runs.jsonl",
                                                   "manifest.json")}
    manifest = json.loads(s3.get(f"runs/{job.id}/manifest.json"))
    assert manifest["status"] == "SUCCEEDED"
    stages = ("one", "two", "three")
    assert {a["path"] for a in manifest["assets"]} == {f"/assets/{job.id}/{s}/runs.jsonl" for s in stages}
    local = core.runtime.assets.job_dir(job.id) / "one" / "runs.jsonl"
    assert s3.get(f"runs/{job.id}/one/runs.jsonl") == local.read_bytes()


def test_a_machine_without_the_files_fetches_them_before_a_stage(core: Core, s3: S3Server) -> None:
    job = core.submit("steps", {"seconds": 0})
    core.wait_status(job.id, "SUCCEEDED")
    store = core.runtime.assets
    stored = s3.get(f"runs/{job.id}/two/runs.jsonl")
    shutil.rmtree(store.job_dir(job.id))  # as on another machine
    folder = store.workdir(job.id)
    assert (folder / "two" / "runs.jsonl").read_bytes() == stored
    assert not (folder / "manifest.json").exists()  # the manifest is written fresh, never fetched


def test_serving_finds_only_files_inside_the_job(core: Core, s3: S3Server) -> None:
    job = core.submit("steps", {"seconds": 0})
    core.wait_status(job.id, "SUCCEEDED")
    store = core.runtime.assets
    assert isinstance(store, S3AssetStore)
    found = store.locate(job.id, "one/runs.jsonl")
    assert isinstance(found, RemoteAsset) and found.bytes > 0
    for bad in ["../x/one/runs.jsonl", "one/../../x", "/etc/passwd", "one\\runs.jsonl", "", "one", "one//runs.jsonl",
                "./one/runs.jsonl", "one/runs.jsonl\x00"]:
        assert store.locate(job.id, bad) is None, bad
    assert store.locate("..", "one/runs.jsonl") is None
    whole = store.read(found, None)
    assert whole.status == 200 and b"".join(whole.chunks) == s3.get(found.key)
    part = store.read(found, "bytes=2-9")
    assert part.status == 206 and b"".join(part.chunks) == s3.get(found.key)[2:10]
    assert part.headers["Content-Range"] == f"bytes 2-9/{found.bytes}"
    assert store.read(found, f"bytes={found.bytes + 10}-").status == 416
    signed = httpx.get(store.presigned_url(found, 60))
    assert signed.status_code == 200 and signed.content == s3.get(found.key)


def test_removing_a_job_removes_its_objects(core: Core, s3: S3Server) -> None:
    job = core.submit("noop")
    core.wait_status(job.id, "SUCCEEDED")
    assert s3.keys(f"runs/{job.id}/")
    core.runtime.assets.remove_job(job.id)
    assert s3.keys(f"runs/{job.id}/") == set()
