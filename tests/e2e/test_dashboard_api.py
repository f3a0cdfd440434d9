"""What the dashboard needs from the server, over HTTP: its page and files, and the all-jobs stream."""

from __future__ import annotations

from typing import Any

import httpx
from httpx_sse import connect_sse

from tests.support.server import ServerProcess

LIST_KINDS = {"status", "stage", "progress", "approval", "done", "failed", "canceled"}


def read_until_done(http: httpx.Client, job_id: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Events of the all-jobs stream, up to the ``done`` of ``job_id`` (each with its SSE id and name)."""
    seen: list[dict[str, Any]] = []
    with connect_sse(http, "GET", "/api/v1/events", headers=headers or {}) as source:
        for sse in source.iter_sse():
            if not sse.data:  # the stream's opening "retry:" line
                continue
            seen.append({**sse.json(), "sse_id": int(sse.id), "event": sse.event})
            if sse.event == "done" and seen[-1]["job_id"] == job_id:
                return seen
    raise AssertionError(f"stream ended before job {job_id} was done: {seen}")


def test_ui_pages_and_files_are_served(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/", follow_redirects=False).headers["location"] == "/ui"
        for path in ("/ui", "/ui/", "/ui/jobs/job_anything", "/ui/submit/doc-video"):
            page = http.get(path)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert '<script type="module" src="/ui/static/app.js">' in page.text
        script = http.get("/ui/static/app.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert http.get("/ui/static/style.css").headers["content-type"].startswith("text/css")
        assert http.get("/ui/static/missing.js").status_code == 404
        assert http.get("/ui/static/../../settings.py").status_code == 404


def test_the_all_jobs_stream_follows_every_job_and_resumes_after_last_event_id(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(10, read=60)) as http, \
            httpx.Client(base_url=server.url, timeout=30) as other:
        before = other.post("/api/v1/jobs", json={"pipeline": "noop"}).json()["id"]
        done = other.get(f"/api/v1/jobs/{before}/events")  # the per-job stream ends once the job has
        assert "event: done" in done.text

        # A new reader starts from now: nothing of the job that ended before it connected. The
        # response's headers have arrived when connect_sse returns, so the job is submitted after.
        with connect_sse(http, "GET", "/api/v1/events") as source:
            job_id = other.post("/api/v1/jobs", json={"pipeline": "steps", "input": {"fail_times": 1}}).json()["id"]
            live = []
            for sse in source.iter_sse():
                if not sse.data:
                    continue
                live.append({**sse.json(), "sse_id": int(sse.id), "event": sse.event})
                if sse.event == "done" and live[-1]["job_id"] == job_id:
                    break
        assert {e["job_id"] for e in live} == {job_id}
        assert [e["sse_id"] for e in live] == sorted(e["sse_id"] for e in live)
        assert {e["event"] for e in live} <= LIST_KINDS and {"status", "stage", "done"} <= {e["event"] for e in live}
        per_job = other.get(f"/api/v1/jobs/{job_id}/events").text
        assert "event: log" in per_job  # the flaky stage's failure is logged, but not sent to the list

        resumed = read_until_done(http, job_id, headers={"Last-Event-ID": str(live[2]["sse_id"])})
        assert [e["sse_id"] for e in resumed] == [e["sse_id"] for e in live[3:]]
        assert resumed[-1]["status"] == "SUCCEEDED"
