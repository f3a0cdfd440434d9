"""The real server process over HTTP: crash recovery, SSE, errors, assets, load."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from montage.client import ApiError, MontageClient
from tests.support.server import ServerProcess
from tests.support.waiting import wait_for

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}


def runs(server: ServerProcess, job_id: str, stage: str) -> list[str]:
    path = server.data_dir / "assets" / job_id / stage / "runs.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def test_kill_9_mid_job_then_restart_finishes_without_rerunning_finished_stages(server: ServerProcess) -> None:
    with MontageClient(server.url) as client:
        job = client.submit("steps", {"seconds": 1.5})
        wait_for(lambda: client.job(job["id"])["stage"] == "two", timeout=30, what="stage two to start")
    server.kill9()
    server.start()
    with MontageClient(server.url) as client:
        done = wait_for(lambda: (j := client.job(job["id"]))["status"] in TERMINAL and j, timeout=60,
                        what="job to finish after restart")
    assert done["status"] == "SUCCEEDED", done
    assert len(runs(server, job["id"], "one")) == 1
    assert len(runs(server, job["id"], "two")) == 1 and len(runs(server, job["id"], "three")) == 1


def test_sse_reconnect_with_last_event_id_misses_nothing_and_repeats_nothing(client: MontageClient) -> None:
    job = client.submit("demo", {"seconds": 0.3})
    first: list[dict[str, object]] = []
    for event in client.events(job["id"]):
        first.append(event)
        if event["status"] == "WAITING_APPROVAL":
            break
    client.approve(job["id"], "draft")
    rest = list(client.events(job["id"], last_event_id=int(first[-1]["id"])))  # type: ignore[arg-type]
    ids = [int(e["id"]) for e in first + rest]  # type: ignore[arg-type]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    everything = list(client.events(job["id"]))
    assert [int(e["id"]) for e in everything] == ids  # type: ignore[arg-type]
    assert rest[-1]["kind"] == "done"


def test_http_errors_are_clear_and_write_nothing(server: ServerProcess, client: MontageClient) -> None:
    with pytest.raises(ApiError) as unknown:
        client.submit("nope")
    assert unknown.value.status == 400 and "noop" in unknown.value.details["allowed"]
    with pytest.raises(ApiError) as missing:
        client.job("job_missing")
    assert missing.value.status == 404 and missing.value.code == "JOB_NOT_FOUND"
    raw = httpx.post(f"{server.url}/api/v1/jobs", content=b"{not json", headers={"content-type": "application/json"})
    assert raw.status_code == 422 and raw.json()["error"]["code"] == "VALIDATION_ERROR"
    typed = httpx.post(f"{server.url}/api/v1/jobs", json={"pipeline": "noop", "priority": "urgent"})
    assert typed.status_code == 422 and typed.json()["error"]["details"]["field"] == "priority"
    huge = httpx.post(f"{server.url}/api/v1/jobs", content=b"x" * (17 * 1024 * 1024),
                      headers={"content-type": "application/json"})
    assert huge.status_code == 413
    assert client.jobs()["total"] == 0
    done = client.submit("noop")
    wait_for(lambda: client.job(done["id"])["status"] == "SUCCEEDED", what="noop job")
    with pytest.raises(ApiError) as conflict:
        client.approve(done["id"], "noop")
    assert conflict.value.status == 409 and conflict.value.details["status"] == "SUCCEEDED"


def test_assets_are_served_with_mime_and_range_and_nothing_outside(server: ServerProcess,
                                                                 client: MontageClient) -> None:
    job = client.submit("steps", {"seconds": 0})
    wait_for(lambda: client.job(job["id"])["status"] == "SUCCEEDED", what="job")
    url = f"{server.url}/assets/{job['id']}"
    manifest = httpx.get(f"{url}/manifest.json")
    assert manifest.headers["content-type"].startswith("application/json")
    assert {a["file"] for a in manifest.json()["assets"]} == {"one/runs.jsonl", "two/runs.jsonl", "three/runs.jsonl"}
    whole = httpx.get(f"{url}/one/runs.jsonl").content
    part = httpx.get(f"{url}/one/runs.jsonl", headers={"Range": "bytes=2-9"})
    assert part.status_code == 206 and part.content == whole[2:10]
    for bad in ["../../montage.db", "..%2f..%2fmontage.db", "%2e%2e/%2e%2e/montage.db", "one/../../../montage.db"]:
        assert httpx.get(f"{url}/{bad}").status_code == 404, bad


def test_fifty_clients_submit_a_thousand_jobs_and_every_one_ends(client: MontageClient, server: ServerProcess) -> None:
    def submit_batch(n: int) -> list[str]:
        with MontageClient(server.url) as c:
            return [c.submit("noop", {"text": f"{n}-{i}"})["id"] for i in range(20)]

    with ThreadPoolExecutor(max_workers=50) as pool:
        ids = [i for batch in pool.map(submit_batch, range(50)) for i in batch]
    assert len(set(ids)) == 1000
    wait_for(lambda: client.jobs(status=["SUCCEEDED"], limit=1)["total"] == 1000, timeout=240, interval=0.5,
             what="1000 jobs to succeed")
    assert client.jobs(status=["FAILED", "CANCELED", "QUEUED", "RUNNING"], limit=1)["total"] == 0


def test_cli_submit_watch_reject_approve(server: ServerProcess, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from montage.cli import app

    runner = CliRunner()
    env = {"MONTAGE_SERVER": server.url}
    submitted = runner.invoke(app, ["submit", "demo", "--input", json.dumps({"seconds": 0.1})], env=env)
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.output.strip().splitlines()[-1]
    with MontageClient(server.url) as client:
        wait_for(lambda: client.job(job_id)["status"] == "WAITING_APPROVAL", what="gate")
        rejected = runner.invoke(app, ["reject", job_id, "--stage", "draft", "--reason", "shorter"], env=env)
        assert rejected.exit_code == 0, rejected.output
        wait_for(lambda: client.job(job_id)["status"] == "WAITING_APPROVAL" and
                 client.job(job_id)["stages"][0]["revision"] == 1, what="second gate")
    wrong = runner.invoke(app, ["approve", job_id, "--stage", "publish"], env=env)
    assert wrong.exit_code == 1 and "WRONG_STAGE" in wrong.output
    assert runner.invoke(app, ["approve", job_id, "--stage", "draft"], env=env).exit_code == 0
    watched = runner.invoke(app, ["watch", job_id], env=env)
    assert watched.exit_code == 0 and "SUCCEEDED" in watched.output
    failed = runner.invoke(app, ["submit", "steps", "--input", '{"fail_times": 5}', "--watch"], env=env)
    assert failed.exit_code == 1 and "FAILED" in failed.output
    listed = runner.invoke(app, ["jobs", "list", "--status", "FAILED"], env=env)
    assert listed.exit_code == 0 and "steps" in listed.output
