"""PostgreSQL stops in the middle of a run of jobs and comes back.

During the outage every contract answers 503 in its own error shape (never 500); afterwards
every job completes, and SSE followers that reconnect with Last-Event-ID miss nothing.

It stops the machine's PostgreSQL cluster (the one MONTAGE_TEST_POSTGRES_URL points at), so it
always starts it again in ``finally``; CI and other work share that server. CHAOS_PG_JOBS (default
500) sets the number of jobs; CHAOS_PG_OUTAGE_S (default 5) how long the database stays down.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from montage.client import ApiError, MontageClient
from tests.chaos.history import history_report
from tests.support.cluster import Cluster, cluster
from tests.support.databases import POSTGRES_URL
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(1200),
              pytest.mark.skipif(not POSTGRES_URL, reason="MONTAGE_TEST_POSTGRES_URL not set")]
JOBS = int(os.environ.get("CHAOS_PG_JOBS", "500"))
OUTAGE_S = float(os.environ.get("CHAOS_PG_OUTAGE_S", "5"))
TOKEN = "chaos-token"


def _cluster_name() -> tuple[str, str]:
    """(version, name) of the PostgreSQL cluster on the test URL's port, from pg_lsclusters."""
    port = (POSTGRES_URL or "").rsplit(":", 1)[-1].split("/")[0] or "5432"
    lines = subprocess.run(["pg_lsclusters", "--no-header"], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    for line in lines:
        version, name, cluster_port, *_ = line.split()
        if cluster_port == port:
            return version, name
    raise AssertionError(f"no PostgreSQL cluster on port {port}: {lines}")


def _pg_ctl(action: str, *, check: bool = True) -> None:
    version, name = _cluster_name()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action], check=check,
                   capture_output=True, timeout=120)


def _start_postgres() -> None:
    """Start the cluster and wait until it answers; asks again if a start did not take."""
    for _ in range(3):
        _pg_ctl("start", check=False)  # "already running" is fine
        try:
            wait_for(_postgres_answers, timeout=60, interval=0.2, what="PostgreSQL to answer again")
            return
        except AssertionError:
            continue
    raise AssertionError("PostgreSQL did not come back: start it by hand (pg_ctlcluster … start)")


def _postgres_answers() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode == 0


@pytest.fixture
def group(tmp_path: Path) -> Iterator[Cluster]:
    with cluster(tmp_path, env={"MONTAGE_VIDEO_API_TOKENS": f'["{TOKEN}"]'}) as c:
        c.add_api()
        c.add_api()
        c.add_worker("w-1")
        c.add_worker("w-2")
        yield c


# path → check of the body's shape: each contract's own error body for 503.
SHAPES: dict[str, Any] = {
    "/api/v1/jobs/{id}": lambda b: b["error"]["code"] == "SERVICE_UNAVAILABLE",
    "/jobs/{id}": lambda b: b["error"]["code"] == "SERVICE_UNAVAILABLE",
    "/api/jobs/{id}": lambda b: isinstance(b["detail"], str),
    "/servers": lambda b: isinstance(b["detail"], str),
    "/api/v1/tasks/{id}": lambda b: {"error", "message", "code", "details"} <= set(b),
    "/v1/videos/tasks/{id}": lambda b: set(b) == {"error"} and isinstance(b["error"], str),
}


def _outage_answers(base: str, job_id: str) -> dict[str, tuple[int, Any]]:
    answers: dict[str, tuple[int, Any]] = {}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for template in SHAPES:
        r = httpx.get(base + template.replace("{id}", job_id), headers=headers, timeout=30)
        answers[template] = (r.status_code, r.json())
    submit = httpx.post(f"{base}/api/v1/jobs", json={"pipeline": "noop"}, timeout=30)
    answers["POST /api/v1/jobs"] = (submit.status_code, submit.json())
    answers["/health"] = (httpx.get(f"{base}/health", timeout=30).status_code, None)
    return answers


def _follow(base: str, job_id: str, seen: list[int]) -> None:
    """Follow the job's events as a browser's EventSource does: reconnect with Last-Event-ID."""
    pause = threading.Event()
    while True:
        try:
            with MontageClient(base) as client:
                for event in client.events(job_id, last_event_id=seen[-1] if seen else 0):
                    seen.append(int(event["id"]))
                    if event["kind"] in ("done", "failed", "canceled"):
                        return
        except (httpx.HTTPError, ApiError):
            pass
        pause.wait(0.5)  # EventSource's reconnection delay


def test_postgres_restart_mid_run_answers_503_then_every_job_completes(group: Cluster) -> None:
    api1, api2 = (api.url for api in group.apis)
    with MontageClient(api2) as client:
        first = [client.submit("noop", {"text": str(i)})["id"] for i in range(JOBS // 2)]
    seen: list[int] = []
    follower = threading.Thread(target=_follow, args=(api1, first[-1], seen), daemon=True)
    follower.start()
    answers: dict[str, tuple[int, Any]] = {}
    try:
        _pg_ctl("stop")
        wait_for(lambda: not _postgres_answers(), timeout=30, what="PostgreSQL to stop")
        for base in (api1, api2):
            answers.update({f"{base} {k}": v for k, v in _outage_answers(base, first[0]).items()})
        threading.Event().wait(OUTAGE_S)  # the outage itself: the database stays down this long
    finally:
        _start_postgres()
    for where, (status, body) in answers.items():
        assert status == 503, (where, status, body)
        template = where.split(" ", 1)[1]
        if template in SHAPES:
            assert SHAPES[template](body), (where, body)
    with MontageClient(api1) as client:
        rest = [wait_for(lambda i=i: _submit_when_back(client, i), timeout=60, what="submit after restart")
                for i in range(JOBS - len(first))]
        accepted = first + rest
        wait_for(lambda: client.jobs(status=["SUCCEEDED"], limit=1)["total"] == len(accepted), timeout=600,
                 interval=0.5, what=f"{len(accepted)} jobs to succeed")
    report = history_report(group, accepted)
    assert not report["missing"] and not report["terminal_not_once"] and not report["illegal"], report
    follower.join(timeout=120)
    stored = [row.id for row in group.query("SELECT id FROM events WHERE job_id = :j ORDER BY id", j=first[-1])]
    assert seen == stored


def _submit_when_back(client: MontageClient, i: int) -> str | None:
    try:
        return str(client.submit("noop", {"text": f"after {i}"})["id"])
    except ApiError as exc:
        assert exc.status == 503, exc
        return None
