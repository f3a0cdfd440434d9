"""The task-manager API over HTTP on the real server: the seed's shell examples run as written
(curl and jq, only host and file paths changed), every documented field and error body,
/health and /metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.databases import BACKEND_PARAMS, fresh_database
from tests.support.documents import make_pdf
from tests.support.server import ServerProcess
from tests.support.waiting import wait_for

SEED_HOST = "http://localhost:8084"
TASK_FIELDS = {"id", "task_type", "status", "priority", "kb_id", "payload", "result", "progress", "retry_count",
               "max_retries", "error_message", "worker_id", "created_at", "updated_at", "started_at",
               "estimated_completion", "queue_position"}
needs_shell = pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")


class TaskServer:
    def __init__(self, server: ServerProcess, uploads: Path) -> None:
        self.server, self.uploads, self.url = server, uploads, server.url

    def run_seed_script(self, script: str, paths: dict[str, str] | None = None) -> str:
        """Run a shell example of the contract with only its host (and file paths) replaced."""
        script = script.replace(SEED_HOST, self.url)
        for seed_path, real in (paths or {}).items():
            script = script.replace(seed_path, real)
        done = subprocess.run(["bash", "-c", "set -e\n" + script], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaskServer]:
    tmp = tmp_path_factory.mktemp(f"tasks-e2e-{request.param}")
    uploads = tmp / "uploads"
    uploads.mkdir()
    with fresh_database(request.param, tmp) as url:
        env = {"MONTAGE_ALLOWED_ROOTS": json.dumps([str(uploads)])}
        server = ServerProcess(tmp / "data", url, env=env).start()
        try:
            yield TaskServer(server, uploads)
        finally:
            server.stop()


DOCUMENT_FLOW = r"""
# 1. 提交文档处理任务
TASK_ID=$(curl -s -X POST http://localhost:8084/api/v1/tasks \
  -H "Content-Type: application/json" \
  -d '{
    "task_type": "document_processing",
    "kb_id": "kb_demo_001",
    "priority": "high",
    "payload": {
      "file_path": "/tmp/uploads/report.pdf",
      "chunk_size": 1000
    }
  }' | jq -r '.id')

echo "Task ID: $TASK_ID"

# 2. 轮询任务状态
while true; do
  STATUS=$(curl -s http://localhost:8084/api/v1/tasks/$TASK_ID | jq -r '.status')
  PROGRESS=$(curl -s http://localhost:8084/api/v1/tasks/$TASK_ID | jq -r '.progress')

  echo "Status: $STATUS, Progress: $PROGRESS%"

  if [ "$STATUS" = "completed" ] || [ "$STATUS" = "failed" ]; then
    break
  fi

  sleep 2
done

# 3. 获取处理结果
curl -s http://localhost:8084/api/v1/tasks/$TASK_ID | jq '.result'
"""

BATCH = r"""
# 批量提交多个文档处理任务
curl -X POST http://localhost:8084/api/v1/tasks/batch \
  -H "Content-Type: application/json" \
  -d '[
    {
      "task_type": "document_processing",
      "kb_id": "kb_001",
      "payload": {"file_path": "/tmp/doc1.pdf"}
    },
    {
      "task_type": "document_processing",
      "kb_id": "kb_001",
      "payload": {"file_path": "/tmp/doc2.pdf"}
    }
  ]'
"""

MONITORING = r"""
# 获取实时统计
curl -s http://localhost:8084/api/v1/stats/system | jq '{
  workers: .total_workers,
  queue: .queue_size,
  rate: .processing_rate
}'

# 获取特定知识库的任务统计
curl -s "http://localhost:8084/api/v1/stats/tasks?kb_id=kb_001" | jq '{
  total: .total_tasks,
  success_rate: .success_rate,
  avg_time: .avg_process_time
}'
"""


@needs_shell
def test_the_document_processing_example_runs_as_written(api: TaskServer) -> None:
    report = make_pdf(api.uploads / "report.pdf", [["Annual report. " * 40], ["Revenue grew in every region. " * 30]])
    out = api.run_seed_script(DOCUMENT_FLOW, {"/tmp/uploads/report.pdf": str(report)})
    task_id = re.search(r"Task ID: (\S+)", out).group(1)  # type: ignore[union-attr]
    assert "Status: completed, Progress: 100%" in out, out
    result = json.loads(out[out.index("{"):])
    assert result["chunks"] >= 2 and result["pages"] == 2 and result["kb_id"] == "kb_demo_001"
    task = httpx.get(f"{api.url}/api/v1/tasks/{task_id}").json()
    assert set(task) >= TASK_FIELDS
    assert task["status"] == "completed" and task["priority"] == "high" and task["queue_position"] == 0
    assert task["worker_id"] and task["error_message"] == "" and task["retry_count"] == 0


@needs_shell
def test_the_batch_and_monitoring_examples_run_as_written(api: TaskServer) -> None:
    docs = {f"/tmp/doc{i}.pdf": str(make_pdf(api.uploads / f"doc{i}.pdf", [[f"Document {i} text."]])) for i in (1, 2)}
    created = json.loads(api.run_seed_script(BATCH, docs))
    assert created["count"] == 2 and [t["status"] for t in created["tasks"]] == ["queued", "queued"]
    for task in created["tasks"]:
        wait_for(lambda t=task: httpx.get(f"{api.url}/api/v1/tasks/{t['id']}").json()["status"] == "completed",
                 timeout=60, what="batch task")
    out = api.run_seed_script(MONITORING)
    system, kb = (json.loads(part) for part in re.findall(r"\{.*?\}", out, re.S))
    assert system["workers"] >= 1 and system["queue"] == 0 and system["rate"] > 0
    assert kb == {"total": 2, "success_rate": 100.0, "avg_time": kb["avg_time"]} and kb["avg_time"] > 0


def test_errors_use_the_contract_body_and_codes(api: TaskServer) -> None:
    http = httpx.Client(base_url=api.url, timeout=30)
    missing = http.get("/api/v1/tasks/job_missing")
    assert missing.status_code == 404 and missing.json() == {
        "error": "Task not found", "message": "Task with specified ID does not exist", "code": "TASK_NOT_FOUND",
        "details": {"task_id": "job_missing"}}
    bad = http.post("/api/v1/tasks", json={"task_type": "document_processing", "payload": {}})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_REQUEST"
    assert bad.json()["details"]["field"] == "kb_id"
    outside = http.post("/api/v1/tasks", json={"task_type": "document_processing", "kb_id": "k",
                                               "payload": {"file_path": "/etc/hostname"}})
    assert outside.status_code == 400 and outside.json()["details"]["reason"] == "PATH_NOT_ALLOWED"
    locked = make_pdf(api.uploads / "locked.pdf", [["secret"]], password="pw")
    encrypted = http.post("/api/v1/tasks", json={"task_type": "document_processing", "kb_id": "k",
                                                 "payload": {"file_path": str(locked)}})
    assert encrypted.status_code == 400 and encrypted.json()["details"]["reason"] == "PDF_ENCRYPTED"
    past = http.post("/api/v1/tasks", json={"task_type": "noop", "kb_id": "k", "payload": {},
                                            "schedule_for": "2020-01-01T00:00:00Z"})
    assert past.status_code == 400 and past.json()["details"]["field"] == "schedule_for"
    assert http.get("/api/v1/tasks", params={"page_size": 101}).status_code == 400
    assert http.get("/api/v1/tasks", params={"sort_by": "payload"}).json()["details"]["allowed"][0] == "created_at"
    done = http.post("/api/v1/tasks", json={"task_type": "noop", "kb_id": "k_err", "payload": {}}).json()
    wait_for(lambda: http.get(f"/api/v1/tasks/{done['id']}").json()["status"] == "completed", what="noop task")
    cancel = http.delete(f"/api/v1/tasks/{done['id']}")
    assert cancel.status_code == 409 and cancel.json()["code"] == "TASK_NOT_CANCELABLE"
    assert cancel.json()["details"]["status"] == "completed"
    retry = http.post(f"/api/v1/tasks/{done['id']}/retry")
    assert retry.status_code == 409 and retry.json()["code"] == "TASK_NOT_RETRYABLE"
    progress = http.put(f"/api/v1/tasks/{done['id']}/progress", json={"progress": 50})
    assert progress.status_code == 409 and progress.json()["code"] == "TASK_NOT_PROCESSING"
    listing = http.get("/api/v1/tasks", params={"kb_id": "k_err", "status": "completed", "sort_by": "priority",
                                                "sort_order": "asc", "page": 1, "page_size": 10}).json()
    assert listing["pagination"] == {"page": 1, "page_size": 10, "total": 1, "total_pages": 1}
    assert listing["tasks"][0]["id"] == done["id"]


def test_health_and_metrics(api: TaskServer) -> None:
    health = httpx.get(f"{api.url}/health")
    body = health.json()
    assert health.status_code == 200 and body["status"] == "healthy" and body["service"] == "montage"
    assert {"database", "queue", "workers", "storage", "embeddings"} <= set(body["details"])
    assert all(d["status"] == "healthy" for d in body["details"].values())
    httpx.get(f"{api.url}/api/v1/tasks")
    metrics = httpx.get(f"{api.url}/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    for family in ("montage_tasks", "montage_queue_depth", "montage_sse_open_streams",
                   "montage_http_request_duration_seconds", "montage_task_duration_seconds"):
        assert f"# TYPE {family} " in text, family
    assert 'montage_http_request_duration_seconds_count{method="GET",route="/api/v1/tasks",status="200"}' in text
    assert 'montage_queue_depth{priority="critical"}' in text
