"""The Rematrix Jobs API as its users call it: the seed's usage example, end to end."""

from __future__ import annotations

from typing import Any

import av
import httpx
from PIL import Image

from tests.support.server import ServerProcess
from tests.support.waiting import wait_for

SEED_DOC = """
# 深度学习入门

## 基础概念
深度学习是机器学习的一个分支...

## 神经网络
神经网络的基本结构包括...
""".strip()


def wait_gate(http: httpx.Client, job_id: str, stage: str) -> dict[str, Any]:
    def at_gate() -> dict[str, Any] | None:
        job = http.get(f"/jobs/{job_id}").json()
        assert job["status"] != "FAILED", job
        return job if job["status"] == "WAITING_APPROVAL" and job["currentStage"] == stage else None

    return wait_for(at_gate, timeout=90, interval=0.2, what=f"{stage} gate")


def test_seed_usage_example_runs_as_written_and_ends_completed(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        created = http.post("/jobs", json={"content": SEED_DOC, "style": "Google 风格", "language": "zh-CN"})
        assert created.status_code == 201
        job_id = created.json()["jobId"]
        assert http.get(f"/jobs/{job_id}").json()["status"] == "PENDING"
        listed = http.get("/jobs").json()["jobs"]
        assert listed[0]["id"] == job_id and set(listed[0]) == {"id", "status", "currentStage", "createdAt",
                                                                 "updatedAt"}
        run = http.post(f"/jobs/{job_id}/run").json()
        assert run["success"] is True and run["workflowId"] and run["message"] == "任务已启动"
        again = http.post(f"/jobs/{job_id}/run")
        assert again.status_code == 409 and again.json()["error"]["message"] == "Job is not in PENDING status"

        wait_gate(http, job_id, "PLAN")
        reason = {"stage": "PLAN", "reason": "计划不够详细，需要补充更多内容",
                  "comment": "请重新生成包含具体示例的计划"}
        rejected = http.post(f"/jobs/{job_id}/reject", json=reason)
        assert rejected.json() == {"success": True, "message": "阶段已拒绝，将重新生成"}
        wait_gate(http, job_id, "PLAN")
        for stage in ("PLAN", "NARRATION", "PAGES"):
            wait_gate(http, job_id, stage)
            approved = http.post(f"/jobs/{job_id}/approve", json={"stage": stage, "comment": "ok"})
            assert approved.json() == {"success": True, "message": "阶段已批准，工作流将继续执行"}
        job = wait_for(lambda: (j := http.get(f"/jobs/{job_id}").json())["status"] in ("COMPLETED", "FAILED") and j,
                       timeout=120, interval=0.3, what="COMPLETED")
        assert job["status"] == "COMPLETED" and job["currentStage"] == "DONE" and job["completedAt"], job
        paths = {a["path"] for a in job["artifacts"]}
        assert {"final.mp4", "subtitles.srt", "subtitles.vtt", "plan/plan.json", "plan/plan.v2.json"} <= paths
        history = http.get(f"/api/v1/jobs/{job_id}/approvals").json()["approvals"]
        assert history[0]["decision"] == "REJECTED" and history[0]["reason"] == "计划不够详细，需要补充更多内容"

        video = server.data_dir / "assets" / job_id / "final.mp4"
        with av.open(str(video)) as container:
            kinds = {s.type: s.codec_context.name for s in container.streams}
            assert kinds == {"video": "h264", "audio": "aac"}
            assert container.streams.video[0].codec_context.width == 1920
        slide = next(p for p in paths if p.startswith("pages/") and p.endswith(".png"))
        assert Image.open(server.data_dir / "assets" / job_id / slide).size == (1920, 1080)


BAD_BODIES = [
    {"content": ""}, {"content": "   \n  "}, {"style": "x"}, {"content": 42},
    {"content": "\x00\x01\x02\x03garbage\xff" * 50},  # binary garbage
    {"content": "!!!???..."}, {"content": "<img src=\"x.png\">"},  # no words; nothing to show
    {"content": "x" * 200_001},  # over MONTAGE_MAX_MARKDOWN_CHARS
]


def test_bad_content_is_a_clear_400_naming_content_and_creates_nothing(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for body in BAD_BODIES:
            response = http.post("/jobs", json=body)
            assert response.status_code == 400, (body, response.text)
            error = response.json()["error"]
            assert error["details"]["field"] == "content", error
            assert error["message"].startswith("content: ") and "Value error" not in error["message"], error
        assert http.get("/jobs").json()["jobs"] == []
        no_stage = http.post("/jobs/job_nope/approve", json={})
        assert no_stage.status_code == 400 and no_stage.json()["error"]["details"]["field"] == "stage"


def test_unknown_job_stage_and_status_errors_use_the_contract_shape(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        missing = http.get("/jobs/job_nope")
        assert missing.status_code == 404 and missing.json()["error"]["message"] == "Job not found"
        job_id = http.post("/jobs", json={"content": "# Title\n\nSome text."}).json()["jobId"]
        invalid = http.post(f"/jobs/{job_id}/approve", json={"stage": "INVALID"}).json()["error"]
        assert invalid == {"code": "INVALID_STAGE", "message": "stage must be one of: PLAN, NARRATION, PAGES",
                           "details": {"received": "INVALID", "allowed": ["PLAN", "NARRATION", "PAGES"]}}
        pending = http.post(f"/jobs/{job_id}/approve", json={"stage": "PLAN"})
        assert pending.status_code == 409
        assert pending.json()["error"]["message"] == "Job is not in WAITING_APPROVAL status"

