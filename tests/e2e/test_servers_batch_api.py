"""The servers / batch / workflows API as its users call it: the seed's curl examples, run as
written against a fresh server, then the batch example with its placeholders filled in; and a
kill -9 in the middle of a batch."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fake_http_generator import FakeHttpGenerator
from tests.support.registry import make_folders
from tests.support.server import ServerProcess
from tests.support.waiting import wait_for

# A verbatim copy of shared/seeds/servers-batch-workflows-api.md: CI runs on a clone without shared/.
SEED = Path(__file__).resolve().parents[1] / "data" / "seeds" / "servers-batch-workflows-api.md"
TERMINAL = {"completed", "failed", "cancelled"}
pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    return {"MONTAGE_ALLOWED_ROOTS": json.dumps([str(tmp_path / "shared")]),
            "MONTAGE_SERVER_HEALTH_INTERVAL_S": "0.5"}


def seed_examples() -> list[str]:
    """The curl commands of the seed's usage section (使用示例), in order."""
    text = SEED.read_text(encoding="utf-8")
    section = text.split("## 使用示例", 1)[-1].split("## 注意事项", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def curl(command: str, base_url: str, **placeholders: str) -> Any:
    """Run a seed example with bash, against this server; its JSON answer."""
    command = command.replace("http://localhost:8000", base_url)
    for old, new in placeholders.items():
        command = command.replace(old, new)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_the_seed_examples_work_as_written_on_a_fresh_server(server: ServerProcess, tmp_path: Path) -> None:
    examples = seed_examples()
    assert len(examples) == 5, "the seed's usage section changed"
    register, process, status, create, version = examples

    assert curl(register, server.url) == {
        "id": 1, "name": "server1", "url": "http://localhost:8001", "type": "local", "enabled": True,
        "batch_size": 5, "status": "offline", "current_task_id": None, "health": None, "last_checked_at": None}
    # As written, the batch names a workflow and folders a fresh machine does not have.
    assert curl(process, server.url) == {"detail": "workflow 'workflow1' not found"}
    assert curl(status, server.url) == {"detail": "task 'task-uuid-string' not found"}
    created = curl(create, server.url)
    assert {k: created[k] for k in ("id", "name", "version", "parent_id", "status", "scenario")} == {
        "id": 1, "name": "测试工作流", "version": "1.0.0", "parent_id": None, "status": "normal",
        "scenario": "图像处理"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", created["created_at"])
    newer = curl(version, server.url)
    assert {k: newer[k] for k in ("id", "name", "version", "parent_id", "description")} == {
        "id": 2, "name": "测试工作流", "version": "1.0.1", "parent_id": 1, "description": "更新了工作流配置"}

    # The batch example with its placeholders filled in, on the built-in local image workflow.
    folders = make_folders(tmp_path / "shared" / "in", {"keyword1_a": 2, "b_keyword2": 1, "other": 1})
    out = tmp_path / "shared" / "out"
    filled = {"workflow1": "local-image", "/path/to/folders": str(folders), "/path/to/output": str(out)}
    started = curl(process, server.url, **filled)
    assert (started["status"], started["message"], started["server_name"]) == ("pending", "批处理任务已启动",
                                                                                 "server1")
    task_id = started["task_id"]
    done = wait_for(lambda: (t := curl(status, server.url, **{"task-uuid-string": task_id}))["status"] in TERMINAL
                    and t, timeout=120, what="the batch to end")
    assert (done["status"], done["progress"], done["error"]) == ("completed", 1.0, None), done
    assert [(i["folder"], i["status"]) for i in done["results"]["items"]] == [("b_keyword2", "completed"),
                                                                             ("keyword1_a", "completed")]
    assert sorted(p.name for p in (out / "keyword1_a").iterdir()) == [
        "contact_sheet.png", "img0.jpg", "img0_thumb.png", "img1.jpg", "img1_thumb.png"]
    assert not (out / "other").exists()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/servers/server1").json()["current_task_id"] is None
        listed = http.get("/batch/tasks").json()
        assert [t["task_id"] for t in listed] == [task_id]
        errors_use_the_contract_shape(http, folders, out)


def errors_use_the_contract_shape(http: httpx.Client, folders: Path, out: Path) -> None:
    """(On the same server, to spare a start.)"""
    bad_url = http.post("/servers/register", json={"name": "s", "url": "localhost:1", "batch_size": 1})
    assert bad_url.status_code == 400 and "url must be a valid" in bad_url.json()["detail"]
    zero = http.post("/servers/register", json={"name": "s", "url": "http://h", "batch_size": 0})
    assert zero.status_code == 400 and "batch_size" in zero.json()["detail"]
    assert http.post("/servers/register", json={"name": "s", "url": "http://h", "batch_size": 1}).status_code == 200
    assert http.post("/servers/register", json={"name": "s", "url": "http://h", "batch_size": 1}).status_code == 409
    assert http.put("/servers/s/status", json="maintenance").json()["status"] == "maintenance"
    assert http.put("/servers/s/status", json="sleeping").status_code == 400
    assert http.get("/servers/nope").json() == {"detail": "server 'nope' not found"}
    too_many = http.get("/servers", params={"limit": 101})  # FastAPI names a query field ["query", name]
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["query", "limit"]
    not_a_number = http.put("/workflows/abc/archive")
    assert not_a_number.status_code == 422 and not_a_number.json()["detail"][0]["loc"] == ["path", "workflow_id"]
    assert [s["name"] for s in http.get("/servers/available").json()] == ["server1"]
    missing = http.post("/batch/process", json={"workflow_name": "local-image"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][0] == "body"
    request = {"workflow_name": "local-image", "target_folders": [str(folders)], "folder_keywords": [],
               "selected_server": "s", "output_root": str(out)}
    resting = http.post("/batch/check-server", json=request)
    assert resting.status_code == 400 and resting.json() == {"detail": "server 's' is in maintenance"}
    assert http.post("/batch/process", json=request).status_code == 503
    outside = http.post("/batch/process", json={**request, "selected_server": "server1", "output_root": "/etc"})
    assert outside.status_code == 400 and "outside the allowed folders" in outside.json()["detail"]
    clash = http.post("/workflows/", json={"name": "local-image", "version": "1.0.0"})
    assert clash.status_code == 400 and "already exists" in clash.json()["detail"]
    assert http.get("/workflows/0").json()["name"] == "local-image"
    assert http.put("/workflows/0/archive").json()["status"] == "archived"
    assert http.get("/workflows/", params={"status": "archived"}).json()[0]["id"] == 0
    assert http.delete("/workflows/0").json() == {"message": "Workflow deleted successfully"}
    assert http.get("/workflows/0").status_code == 404


def test_kill_9_in_the_middle_of_a_batch_resumes_without_redoing_finished_items(server: ServerProcess,
                                                                              tmp_path: Path) -> None:
    folders = make_folders(tmp_path / "shared" / "in", {f"set{i}": 1 for i in range(4)})
    with FakeHttpGenerator(tmp_path / "gen") as service, httpx.Client(base_url=server.url, timeout=30) as http:
        http.post("/servers/register", json={"name": "gen", "url": service.url, "type": "http", "batch_size": 1})
        http.post("/workflows/", json={"name": "slow", "workflow_config": {
            "task": "slow", "params": {"steps": 4, "seconds_per_step": 0.15}},
            "input_mapping": {"folder": {"param": "folder", "source": "folder_name"}}})
        wait_for(lambda: http.get("/servers/gen").json()["status"] == "online", timeout=30, what="gen online")
        body = {"workflow_name": "slow", "target_folders": [str(folders)], "folder_keywords": [],
                "selected_server": "gen", "output_root": str(tmp_path / "shared" / "out")}
        task_id = http.post("/batch/process", json=body).json()["task_id"]

        def item_states() -> dict[str, str]:
            results = http.get(f"/batch/tasks/{task_id}").json()["results"] or {"items": []}
            return {i["folder"]: i["status"] for i in results["items"]}

        wait_for(lambda: list(item_states().values()).count("completed") >= 1
                 and any(j.status == "running" for j in service.jobs.values()), timeout=60,
                 what="one item done and the next running")
        finished_before = {f for f, s in item_states().items() if s == "completed"}
        server.kill9()
        server.start()
        wait_for(lambda: http.get(f"/batch/tasks/{task_id}").json()["status"] in TERMINAL, timeout=120,
                 what="the batch to end after the restart")
        done = http.get(f"/batch/tasks/{task_id}").json()
    assert done["status"] == "completed" and done["results"]["success_count"] == 4, done
    sent = [job.params["folder"] for job in service.jobs.values()]
    for folder in finished_before:
        assert sent.count(folder) == 1, (folder, sent)  # a finished item is not sent again
    assert sorted(set(sent)) == ["set0", "set1", "set2", "set3"]
