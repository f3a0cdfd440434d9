"""Webhooks end to end in this process (one SQLite database): a job's events reach a local
receiver signed per Standard Webhooks, failed deliveries are retried with backoff by the engine
and recorded, and URLs montage must not call are refused."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from montage import outbound
from montage.webhooks import verify
from tests.support.inprocess import running_app
from tests.support.waiting import wait_for
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.timeout(120)
OLD, NEW = ("whsec_" + base64.b64encode(os.urandom(32)).decode() for _ in range(2))


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fail_first=0) as r:
        yield r


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, TestClient]]:
    with running_app(tmp_path_factory.mktemp("webhooks") / "data", webhook_secrets=[NEW, OLD],
                     webhook_backoff_s=0.05, webhook_poll_interval_s=0.05) as pair:
        yield pair


def submit(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/jobs", json={"pipeline": "noop", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def deliveries(client: TestClient, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/jobs/{job_id}/webhooks")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_events_arrive_signed_and_filtered(served: tuple[FastAPI, TestClient], receiver: WebhookReceiver) -> None:
    _, client = served
    job = submit(client, webhook_url=f"{receiver.url}/hook", webhook_events=["start", "completed"])
    got = wait_for(lambda: (r := receiver.of_job(job["id"])) and len(r) >= 2 and r, timeout=60,
                   what="start and completed deliveries")
    events = sorted((verify(r.body, r.headers, NEW) for r in got), key=lambda e: e["data"]["event_id"])
    assert [e["type"] for e in events] == ["job.start", "job.completed"]  # deliveries may arrive in any order
    for r in got:
        assert r.headers["webhook-signature"].count("v1,") == 2  # both secrets sign: rotation
        assert verify(r.body, r.headers, [OLD])["data"]["job_id"] == job["id"]
        assert r.headers["webhook-id"].startswith("msg_") and r.headers["webhook-timestamp"].isdigit()
    record = wait_for(lambda: (d := deliveries(client, job["id"])) and
                      all(x["status"] == "delivered" for x in d["deliveries"]) and d, what="recorded deliveries")
    assert record["webhook"] == {"url": f"{receiver.url}/hook", "events": ["start", "completed"]}
    assert [(d["type"], d["attempts"], d["response_status"]) for d in record["deliveries"]] == [
        ("start", 1, 200), ("completed", 1, 200)]


def test_failed_deliveries_are_retried_and_recorded(served: tuple[FastAPI, TestClient]) -> None:
    _, client = served
    with WebhookReceiver(fail_first=2) as flaky:
        job = submit(client, webhook_url=flaky.url, webhook_events=["completed"])
        record = wait_for(lambda: (d := deliveries(client, job["id"])) and d["deliveries"] and
                          d["deliveries"][0]["status"] == "delivered" and d, timeout=60, what="delivered on retry")
        attempts = flaky.of_job(job["id"])
    delivery = record["deliveries"][0]
    assert delivery["attempts"] == 3 and delivery["response_status"] == 200 and delivery["delivered_at"]
    assert len(attempts) == 3 and len({a.headers["webhook-id"] for a in attempts}) == 1  # one id across retries
    assert len({a.body for a in attempts}) == 1


def test_a_receiver_that_never_answers_fails_after_the_last_attempt(served: tuple[FastAPI, TestClient]) -> None:
    app, client = served
    settings = app.state.services.runtime.settings
    saved = settings.webhook_max_attempts
    settings.webhook_max_attempts = 2
    try:
        with WebhookReceiver(fail_first=100) as down:
            job = submit(client, webhook_url=down.url, webhook_events=["completed"])
            record = wait_for(lambda: (d := deliveries(client, job["id"])) and d["deliveries"] and
                              d["deliveries"][0]["status"] == "failed" and d, timeout=60, what="delivery failed")
    finally:
        settings.webhook_max_attempts = saved
    failed = record["deliveries"][0]
    assert failed["attempts"] == 2 and failed["response_status"] == 500 and "500" in failed["error"]


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/",
                                 "http://[::ffff:169.254.169.254]/", "file:///etc/passwd", "gopher://127.0.0.1/",
                                 "http://0.0.0.0:8000/"])
def test_urls_montage_must_not_call_are_refused(served: tuple[FastAPI, TestClient], url: str) -> None:
    _, client = served
    response = client.post("/api/v1/jobs", json={"pipeline": "noop", "webhook_url": url})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "URL_REFUSED"


def test_unknown_event_types_are_refused(served: tuple[FastAPI, TestClient], receiver: WebhookReceiver) -> None:
    _, client = served
    response = client.post("/api/v1/jobs", json={"pipeline": "noop", "webhook_url": receiver.url,
                                                 "webhook_events": ["bogus"]})
    assert response.status_code == 422 and "webhook_events" in json.dumps(response.json())


def test_private_receivers_are_refused_when_the_setting_says_so(served: tuple[FastAPI, TestClient],
                                                                receiver: WebhookReceiver) -> None:
    _, client = served
    outbound.configure(allow_private=False)
    try:
        refused = client.post("/api/v1/jobs", json={"pipeline": "noop", "webhook_url": receiver.url})
    finally:
        outbound.configure(allow_private=True)
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["field"] == "webhook_url"
    assert submit(client, webhook_url=receiver.url, webhook_events=["failed"])["id"]
