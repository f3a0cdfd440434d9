"""Access control over ASGI in this process, on one SQLite database: the open dev mode, then keys,
scopes on every route, ownership, signed asset links, the /assets traversal corpus and limits."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from montage import cli
from montage.api.auth import PUBLIC_PATHS, required_scope
from montage.domain.access import Scope
from montage.services.jobs import SubmitJob
from montage.services.limits import RateLimiter, StreamCounter
from tests.support.inprocess import running_app
from tests.support.raw_asgi import raw_get, raw_request

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, TestClient]]:
    with running_app(tmp_path_factory.mktemp("access") / "data") as pair:
        yield pair


@pytest.fixture(scope="module")
def keys(served: tuple[FastAPI, TestClient]) -> dict[str, str]:
    """Keys of each scope, plus a second write key. Created after the dev-mode test has run."""
    app, _ = served
    service = app.state.gate.keys
    return {name: service.create(name, scope).secret for name, scope in
            (("read", "read"), ("write", "write"), ("other", "write"), ("admin", "admin"))}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def shape_of(app: FastAPI, path: str, status: int, code: str) -> set[str]:
    """The top-level fields of the error body the contract serving ``path`` uses."""
    return set(app.state.error_shapes.for_path(path)(status, code, "m", {}))


# -- the open dev mode: first, before any key exists -------------------------------------------------------
def test_loopback_with_no_keys_is_open(served: tuple[FastAPI, TestClient]) -> None:
    _, client = served
    assert client.get("/api/v1/jobs").status_code == 200
    created = client.post("/api/v1/jobs", json={"pipeline": "noop"})
    assert created.status_code == 201
    assert client.get(f"/api/v1/jobs/{created.json()['id']}").status_code == 200
    assert client.get("/ui").status_code == 200


def test_a_public_address_with_no_keys_refuses_to_start(tmp_path: Path) -> None:
    done = CliRunner().invoke(cli.app, ["serve", "--host", "0.0.0.0", "--port", "1", "--data-dir",
                                        str(tmp_path / "data")])
    assert done.exit_code == 2, done.output
    assert "--insecure" in done.output and "montage keys create" in done.output


# -- every route, enumerated from the app ----------------------------------------------------------------
def _calls(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, template, concrete path) of every route that is not public, included routers and all."""
    calls = []
    for route in iter_route_contexts(app.routes):
        if not route.methods or route.path in PUBLIC_PATHS or route.path.startswith("/ui"):
            continue
        concrete = re.sub(r"\{[^}:]+:path\}", "x/y.png", route.path)
        concrete = re.sub(r"\{[^}]+\}", "1", concrete)
        calls += [(method, route.path, concrete) for method in sorted(route.methods - {"HEAD"})]
    return calls


def test_every_route_needs_a_key_and_enough_scope(served: tuple[FastAPI, TestClient], keys: dict[str, str]) -> None:
    app, client = served
    calls = _calls(app)
    assert len(calls) > 60  # the five contracts, the core API and key admin
    too_small = {Scope.READ: None, Scope.WRITE: keys["read"], Scope.ADMIN: keys["write"]}
    for method, template, path in calls:
        missing = client.request(method, path)
        assert missing.status_code == 401, (method, template, missing.text)
        assert set(missing.json()) == shape_of(app, path, 401, "MISSING_API_KEY"), (method, template)
        wrong = client.request(method, path, headers=bearer("mtg_not-a-key"))
        assert wrong.status_code == 401, (method, template)
        weak_key = too_small[required_scope(method, path)]
        if weak_key is not None:
            weak = client.request(method, path, headers=bearer(weak_key))
            assert weak.status_code == 403, (method, template, weak.text)
            assert set(weak.json()) == shape_of(app, path, 403, "FORBIDDEN"), (method, template)


def test_scopes_by_method_and_path() -> None:
    assert required_scope("GET", "/api/v1/jobs") == Scope.READ
    assert required_scope("POST", "/api/v1/jobs") == Scope.WRITE
    assert required_scope("DELETE", "/api/v1/tasks/1") == Scope.WRITE
    assert required_scope("GET", "/api/v1/keys") == Scope.ADMIN
    assert required_scope("POST", "/servers") == Scope.ADMIN
    assert required_scope("GET", "/servers") == Scope.READ
    assert required_scope("POST", "/serversx") == Scope.WRITE


def test_public_paths_stay_public(served: tuple[FastAPI, TestClient], keys: dict[str, str]) -> None:
    _, client = served
    assert client.get("/health").status_code in (200, 503)
    assert client.get("/ui").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/metrics").status_code == 401


def test_the_video_contract_words_its_auth_errors(served: tuple[FastAPI, TestClient], keys: dict[str, str]) -> None:
    _, client = served
    missing = client.get("/v1/videos/tasks/job_x")
    wrong = client.get("/v1/videos/tasks/job_x", headers=bearer("mtg_wrong"))
    assert (missing.status_code, missing.json()) == (401, {"error": "未提供认证令牌"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "认证令牌无效"})
    assert missing.headers["www-authenticate"].startswith("Bearer")


# -- keys: revoked and expired ------------------------------------------------------------------------------
def test_revoked_and_expired_keys_stop_working(served: tuple[FastAPI, TestClient], keys: dict[str, str]) -> None:
    app, client = served
    service = app.state.gate.keys
    fresh = service.create("short-lived", "read")
    assert client.get("/api/v1/jobs", headers=bearer(fresh.secret)).status_code == 200
    service.revoke(fresh.key.id)
    assert client.get("/api/v1/jobs", headers=bearer(fresh.secret)).status_code == 401
    expired = service.create("expired", "read", timedelta(seconds=-1))
    assert client.get("/api/v1/jobs", headers=bearer(expired.secret)).status_code == 401
    listed = client.get("/api/v1/keys", headers=bearer(keys["admin"])).json()["keys"]
    assert {k["id"] for k in listed} >= {fresh.key.id, expired.key.id}
    used = {k["id"]: k["last_used_at"] for k in listed}
    assert used[fresh.key.id] is not None and used[expired.key.id] is None  # an expired key is not "used"
    assert all("key" not in k and "secret_hash" not in k for k in listed)


def test_keys_over_http_show_the_secret_once(served: tuple[FastAPI, TestClient], keys: dict[str, str]) -> None:
    _, client = served
    made = client.post("/api/v1/keys", json={"name": "ci", "scope": "read", "expires_in": "1d"},
                       headers=bearer(keys["admin"]))
    assert made.status_code == 201 and made.json()["key"].startswith("mtg_")
    assert client.get("/api/v1/jobs", headers=bearer(made.json()["key"])).status_code == 200
    bad = client.post("/api/v1/keys", json={"name": "x", "scope": "root"}, headers=bearer(keys["admin"]))
    assert bad.status_code == 422
    gone = client.delete(f"/api/v1/keys/{made.json()['id']}", headers=bearer(keys["admin"]))
    assert gone.status_code == 200 and gone.json()["revoked_at"]
    assert client.get("/api/v1/jobs", headers=bearer(made.json()["key"])).status_code == 401


# -- ownership ------------------------------------------------------------------------------------------------
def _job_with_file(app: FastAPI, client: TestClient, key: str) -> str:
    created = client.post("/api/v1/jobs", json={"pipeline": "noop", "start": False}, headers=bearer(key))
    assert created.status_code == 201, created.text
    job_id = str(created.json()["id"])
    folder = app.state.services.runtime.assets.job_dir(job_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 fake video")
    return job_id


def test_another_key_gets_404_and_admin_sees_all(served: tuple[FastAPI, TestClient], keys: dict[str, str]) -> None:
    app, client = served
    job_id = _job_with_file(app, client, keys["write"])
    own, other, admin = bearer(keys["write"]), bearer(keys["other"]), bearer(keys["admin"])
    for path in (f"/api/v1/jobs/{job_id}", f"/api/v1/jobs/{job_id}/artifacts", f"/api/v1/jobs/{job_id}/events",
                 f"/assets/{job_id}/clip.mp4", f"/api/jobs/{job_id}", f"/jobs/{job_id}",
                 f"/api/v1/tasks/{job_id}", f"/v1/videos/tasks/{job_id}"):
        assert client.get(path, headers=other).status_code == 404, path
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=other).status_code == 404
    assert client.get(f"/api/v1/jobs/{job_id}", headers=own).status_code == 200
    assert client.get(f"/api/v1/jobs/{job_id}", headers=admin).status_code == 200
    assert client.get(f"/assets/{job_id}/clip.mp4", headers=own).content.endswith(b"fake video")
    listed = {j["id"] for j in client.get("/api/v1/jobs?limit=200", headers=other).json()["jobs"]}
    assert job_id not in listed
    assert job_id in {j["id"] for j in client.get("/api/v1/jobs?limit=200", headers=own).json()["jobs"]}
    assert job_id in {j["id"] for j in client.get("/api/v1/jobs?limit=200", headers=admin).json()["jobs"]}


def test_the_same_idempotency_key_from_two_keys_makes_two_jobs(served: tuple[FastAPI, TestClient],
                                                               keys: dict[str, str]) -> None:
    _, client = served
    body = {"pipeline": "noop", "start": False}
    first = client.post("/api/v1/jobs", json=body, headers={**bearer(keys["write"]), "Idempotency-Key": "k1"})
    second = client.post("/api/v1/jobs", json=body, headers={**bearer(keys["other"]), "Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


# -- signed asset links ---------------------------------------------------------------------------------------
def test_signed_links_work_without_a_key_until_they_expire(served: tuple[FastAPI, TestClient],
                                                          keys: dict[str, str]) -> None:
    app, client = served
    job_id = _job_with_file(app, client, keys["write"])
    link = client.get(f"/api/v1/jobs/{job_id}/asset-link", params={"path": "clip.mp4", "ttl_s": 60},
                      headers=bearer(keys["write"]))
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    assert client.get(url).content.endswith(b"fake video")
    assert client.get(url, headers={"Range": "bytes=0-3"}).status_code == 206
    assert client.get(url.replace("signature=", "signature=0")[:-1]).status_code == 403  # tampered
    other_file = url.replace("clip.mp4", "manifest.json")
    assert client.get(other_file).status_code == 403  # a signature is for one path only
    stale, _ = app.state.gate.links.sign(job_id, "clip.mp4", 60, now=time.time() - 3600)
    assert client.get(stale).status_code == 403
    assert client.get(stale, headers=bearer(keys["write"])).status_code == 200  # the owner's key still reads it
    assert client.get(stale, headers=bearer(keys["other"])).status_code == 404  # another key's does not
    refused = client.get(f"/api/v1/jobs/{job_id}/asset-link", params={"path": "clip.mp4"},
                         headers=bearer(keys["other"]))
    assert refused.status_code == 404


# -- /assets never leaves the job's folder ---------------------------------------------------------------------
TRAVERSAL = ["../{sibling}/secret.txt", "..%2f{sibling}%2fsecret.txt", "%2e%2e/{sibling}/secret.txt",
             "%2e%2e%2f{sibling}%2fsecret.txt", "sub/../../{sibling}/secret.txt", "..%5c{sibling}%5csecret.txt",
             "..\\{sibling}\\secret.txt", "%2fetc%2fpasswd", "/etc/passwd", "//etc/passwd", "clip.mp4%00.txt",
             "link.txt", "linkdir/outside.txt", "%252e%252e/{sibling}/secret.txt", "..", "."]


def test_traversal_corpus_serves_nothing_outside(served: tuple[FastAPI, TestClient], keys: dict[str, str],
                                                 tmp_path: Path) -> None:
    app, client = served
    job_id = _job_with_file(app, client, keys["write"])
    assets = app.state.services.runtime.assets
    sibling = assets.job_dir(job_id + "x")  # a sibling folder whose name starts with the job's
    sibling.mkdir()
    (sibling / "secret.txt").write_text("SECRET")
    (tmp_path / "outside.txt").write_text("SECRET")
    os.symlink(tmp_path / "outside.txt", assets.job_dir(job_id) / "link.txt")
    os.symlink(tmp_path, assets.job_dir(job_id) / "linkdir")
    for raw in TRAVERSAL:
        status, body = raw_get(client, f"/assets/{job_id}/{raw.format(sibling=quote(job_id + 'x'))}",
                               keys["admin"])
        assert status in (400, 404, 422), (raw, status)
        assert b"SECRET" not in body and b"root:" not in body, raw
    assert raw_get(client, f"/assets/{job_id}/clip.mp4", keys["admin"])[0] == 200  # the harness does serve
    assert client.get(f"/assets/{job_id}x/secret.txt", headers=bearer(keys["write"])).status_code == 404


# -- limits -------------------------------------------------------------------------------------------------------
def test_rate_limit_answers_429_with_retry_after(served: tuple[FastAPI, TestClient], keys: dict[str, str]) -> None:
    app, client = served
    gate = app.state.gate
    saved = gate.rate
    gate.rate = RateLimiter(rate=0.01, burst=2)
    try:
        answers = [client.get("/api/v1/tasks", headers=bearer(keys["read"])) for _ in range(3)]
    finally:
        gate.rate = saved
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["retry-after"]) >= 1
    assert set(answers[2].json()) == shape_of(app, "/api/v1/tasks", 429, "RATE_LIMITED")
    assert answers[2].json()["code"] == "RATE_LIMITED"
    assert client.get("/api/v1/tasks", headers=bearer(keys["other"])).status_code == 200  # per key


def test_concurrent_streams_per_key(served: tuple[FastAPI, TestClient], keys: dict[str, str]) -> None:
    app, client = served
    job_id = _job_with_file(app, client, keys["write"])
    gate = app.state.gate
    saved = gate.streams
    gate.streams = StreamCounter(1)
    key_id = gate.keys.authenticate(keys["write"]).key_id
    try:
        held = gate.streams.acquire(key_id)
        refused = client.get(f"/api/v1/jobs/{job_id}/events", headers=bearer(keys["write"]))
        media = client.get(f"/api/jobs/{job_id}/events", headers=bearer(keys["write"]))
        held.release()
        assert gate.streams.open_streams(key_id) == 0
    finally:
        gate.streams = saved
    assert refused.status_code == 429 and refused.headers["retry-after"]
    assert refused.json()["error"]["code"] == "TOO_MANY_STREAMS"
    assert media.status_code == 429 and set(media.json()) == {"detail"}


def test_queued_job_quota_per_key(served: tuple[FastAPI, TestClient], keys: dict[str, str]) -> None:
    app, client = served
    settings = app.state.services.runtime.settings
    later = {"pipeline": "noop", "schedule_for": "2999-01-01T00:00:00Z"}
    saved = settings.max_queued_jobs_per_key
    settings.max_queued_jobs_per_key = 1
    try:
        first = client.post("/api/v1/jobs", json=later, headers=bearer(keys["other"]))
        second = client.post("/api/v1/jobs", json=later, headers=bearer(keys["other"]))
        task = client.post("/api/v1/tasks", json=_task(), headers=bearer(keys["other"]))
        elsewhere = client.post("/api/v1/jobs", json=later, headers=bearer(keys["admin"]))
    finally:
        settings.max_queued_jobs_per_key = saved
    assert first.status_code == 201, first.text
    assert second.status_code == 429 and second.json()["error"]["code"] == "QUOTA_EXCEEDED"
    assert second.headers["retry-after"]
    assert task.status_code == 429, task.text
    assert set(task.json()) == {"error", "message", "code", "details"}
    assert elsewhere.status_code == 201
    client.post(f"/api/v1/jobs/{first.json()['id']}/cancel", headers=bearer(keys["other"]))
    client.post(f"/api/v1/jobs/{elsewhere.json()['id']}/cancel", headers=bearer(keys["admin"]))


def _task() -> dict[str, Any]:
    return {"task_type": "noop", "kb_id": "kb_quota", "payload": {}, "schedule_for": "2999-01-01T00:00:00Z"}


def test_a_body_over_the_limit_is_413_in_the_contract_shape(served: tuple[FastAPI, TestClient],
                                                          keys: dict[str, str]) -> None:
    app, client = served
    limit = app.state.services.runtime.settings.max_body_bytes
    big = b"x" * (limit + 1)
    video = client.post("/v1/videos/generations", content=big, headers={**bearer(keys["write"]),
                        "content-type": "multipart/form-data; boundary=b"})
    core = client.post("/api/v1/jobs", content=big, headers={**bearer(keys["write"]),
                       "content-type": "application/json"})
    assert video.status_code == 413 and set(video.json()) == {"error"}
    assert core.status_code == 413 and core.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_work_created_off_a_request_can_belong_to_a_key(served: tuple[FastAPI, TestClient],
                                                        keys: dict[str, str]) -> None:
    """Children a running job creates (batch items, batch_processing tasks) take their parent's key."""
    app, client = served
    owner = app.state.gate.keys.authenticate(keys["write"])
    child, _ = app.state.services.jobs.submit(SubmitJob(pipeline="noop", start=False, key_id=owner.key_id))
    assert client.get(f"/api/v1/jobs/{child.id}", headers=bearer(keys["write"])).status_code == 200
    assert client.get(f"/api/v1/jobs/{child.id}", headers=bearer(keys["other"])).status_code == 404


def test_the_live_job_list_shows_a_key_only_its_own_jobs(served: tuple[FastAPI, TestClient],
                                                         keys: dict[str, str]) -> None:
    _, client = served
    mine: list[str] = []
    opened = threading.Event()

    def seen_mine(body: bytes) -> bool:
        opened.set()  # the stream has answered, so it reads every event written from now on
        return bool(mine) and mine[0].encode() in body

    stream = raw_request(client, "/api/v1/events", keys["other"], stop_when=seen_mine)
    assert opened.wait(30)
    theirs = client.post("/api/v1/jobs", json={"pipeline": "noop"}, headers=bearer(keys["write"])).json()["id"]
    mine.append(client.post("/api/v1/jobs", json={"pipeline": "noop"}, headers=bearer(keys["other"])).json()["id"])
    status, body = stream.result(timeout=60)
    assert status == 200 and mine[0].encode() in body  # its own job's events, live
    assert theirs.encode() not in body  # written before, so filtered out, not merely not yet sent


def test_an_upload_without_a_length_is_cut_off_at_the_limit(served: tuple[FastAPI, TestClient],
                                                            keys: dict[str, str]) -> None:
    """A chunked multipart upload (no Content-Length) is counted as it streams in and refused at
    the cap: the server stops reading (straight over ASGI, to see what the app pulls)."""
    app, client = served
    limit = app.state.services.runtime.settings.max_body_bytes
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled == 0:
            pulled += 1
            head = b'--b\r\nContent-Disposition: form-data; name="first_frame"; filename="a.png"\r\n\r\n'
            return {"type": "http.request", "body": head, "more_body": True}
        pulled += 65536
        return {"type": "http.request", "body": b"x" * 65536, "more_body": pulled < 4 * limit}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/videos/generations", "raw_path": b"/v1/videos/generations", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
             "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {keys['write']}".encode()),
                         (b"content-type", b"multipart/form-data; boundary=b"), (b"transfer-encoding", b"chunked")]}
    assert client.portal is not None
    client.portal.call(app, scope, receive, send)
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert sent[0]["status"] == 413 and set(body) == {"error"}
    assert limit < pulled < limit + 2 * 65536  # it stopped reading right after the cap


def test_a_processing_server_at_a_metadata_address_is_refused(served: tuple[FastAPI, TestClient],
                                                              keys: dict[str, str]) -> None:
    _, client = served
    body = {"name": "meta", "url": "http://169.254.169.254", "type": "comfyui"}
    response = client.post("/servers/register", json=body, headers=bearer(keys["admin"]))
    assert response.status_code == 400, response.text
    assert "169.254.169.254" in json.dumps(response.json()["detail"])
