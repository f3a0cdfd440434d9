"""Batch runs over folders on SQLite and PostgreSQL: local image workflows, ComfyUI and http servers
(over real HTTP and websocket, against local protocol servers), concurrency, bad input, cancel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import update

from montage.errors import (
    GeneratorError,
    IllegalTransition,
    PathNotAllowed,
    ServerDisabled,
    ServerUnavailable,
    ValidationFailed,
    WorkflowArchived,
)
from montage.services.batch import BatchRequest, NewTask
from montage.services.batch_host import BatchHost
from montage.store import batch as batch_repo
from montage.store.models import StageRow
from montage.store.registry_models import ServerRow
from tests.integration.conftest import Core
from tests.support.fake_comfyui import FakeComfyUI
from tests.support.fake_http_generator import FakeHttpGenerator
from tests.support.registry import INVERT_GRAPH, Registry, make_folders, registry_over
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def core_settings(tmp_path: Path) -> dict[str, Any]:
    return {"allowed_roots": [tmp_path / "work"], "server_health_interval_s": 0.5, "server_wait_s": 1.5}


@pytest.fixture
def reg(core: Core) -> Iterator[Registry]:
    yield registry_over(core)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return make_folders(tmp_path / "work" / "in", {"cat_one": 2, "Cat-two": 1, "dog": 1, "bird": 2})


def max_overlap(core: Core, job_ids: list[str]) -> int:
    """Most item stages that were running at the same moment (from their recorded start and end)."""
    with core.runtime.db.read() as s:
        rows = s.query(StageRow).filter(StageRow.job_id.in_(job_ids)).all()
    edges = sorted([(r.started_at, 1) for r in rows] + [(r.ended_at, -1) for r in rows])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_a_local_batch_writes_each_matching_folder_and_frees_the_server(reg: Registry, work: Path,
                                                                        tmp_path: Path) -> None:
    reg.server("server1", batch_size=2)
    out = tmp_path / "work" / "out"
    task_id = reg.process("local-image", [work], ["cat"], "server1", out, watermark_text="hi", thumbnail_size=32)
    task = reg.finished(task_id)
    run = task.latest
    assert run is not None and run.status.value == "completed" and run.progress == 1.0, run
    result = run.result or {}
    assert [(i["folder"], i["status"]) for i in result["items"]] == [("Cat-two", "completed"),
                                                                     ("cat_one", "completed")]
    assert (result["success_count"], result["fail_count"], result["processed_files"]) == (2, 0, 5 + 3)
    assert sorted(p.name for p in (out / "cat_one").iterdir()) == ["contact_sheet.png", "img0.jpg", "img0_thumb.png",
                                                                  "img1.jpg", "img1_thumb.png"]
    with Image.open(out / "cat_one" / "img0_thumb.png") as thumb:
        assert max(thumb.size) == 32  # the task's parameter reached the node
    assert not (out / "dog").exists() and not (out / "bird").exists()
    server = reg.servers.get("server1")
    assert (server.status.value, server.current_task_id) == ("online", None)
    again = BatchHost(reg.batch.jobs).submit_items("parent", run.id, [{"index": 0}, {"index": 1}])
    assert again == [i["job_id"] for i in result["items"]]  # a parent running again makes no new items


def test_keywords_matching_nothing_complete_with_zero_items_and_say_so(reg: Registry, work: Path,
                                                                      tmp_path: Path) -> None:
    reg.server("server1")
    task = reg.finished(reg.process("local-image", [work], ["zebra"], "server1", tmp_path / "work" / "out"))
    assert task.latest is not None and task.latest.status.value == "completed"
    assert (task.latest.result or {})["total"] == 0
    assert "no sub-folder" in task.latest.message and "zebra" in task.latest.message
    assert reg.servers.get("server1").current_task_id is None


def test_bad_requests_are_refused_and_leave_nothing_behind_and_a_busy_server_is_unavailable(
        reg: Registry, work: Path, tmp_path: Path) -> None:
    reg.server("server1")
    out = str(tmp_path / "work" / "out")

    def request(**changes: Any) -> BatchRequest:
        fields = {"workflow_name": "local-image", "target_folders": [str(work)], "folder_keywords": ["cat"],
                  "selected_server": "server1", "output_root": out, **changes}
        return BatchRequest(**fields)

    with pytest.raises(ValidationFailed, match="does not exist"):
        reg.batch.process(request(target_folders=[str(work / "missing")]))
    with pytest.raises(PathNotAllowed):
        reg.batch.process(request(target_folders=[str(tmp_path)]))
    with pytest.raises(PathNotAllowed):
        reg.batch.process(request(output_root="/etc/montage-out"))
    reg.workflows.change_status(0, "archive")
    with pytest.raises(WorkflowArchived):
        reg.batch.process(request())
    reg.workflows.change_status(0, "activate")
    assert reg.batch.list_tasks() == []
    assert reg.servers.get("server1").current_task_id is None
    reg.servers.update("server1", {"enabled": False})
    with pytest.raises(ServerDisabled):
        reg.batch.check_server(request())
    reg.servers.update("server1", {"enabled": True})
    first, _ = reg.batch.process(request())
    with pytest.raises(ServerUnavailable, match=f"processing task {first.id}"):
        reg.batch.process(request())
    reg.finished(first.id)


def test_batch_size_bounds_how_many_items_run_at_once(core: Core, reg: Registry, work: Path, tmp_path: Path) -> None:
    folders = make_folders(tmp_path / "work" / "many", {f"set{i}": 1 for i in range(6)})
    with FakeHttpGenerator(tmp_path / "http") as service:
        reg.server("gen", url=service.url, type="http", batch_size=2)
        reg.workflow("slow", {"task": "slow", "params": {"steps": 3, "seconds_per_step": 0.15}})
        task = reg.finished(reg.process("slow", [folders], [], "gen", tmp_path / "work" / "out"))
    assert task.latest is not None and (task.latest.result or {})["success_count"] == 6
    ids = [i["job_id"] for i in (task.latest.result or {})["items"]]
    assert max_overlap(core, ids) == 2


def test_a_comfyui_batch_uploads_each_image_and_collects_what_the_graph_saved(reg: Registry, work: Path,
                                                                               tmp_path: Path) -> None:
    with FakeComfyUI(tmp_path / "comfy") as comfy:
        reg.server("comfy", url=comfy.url, type="comfyui", batch_size=2)
        reg.workflow("invert", INVERT_GRAPH, input_mapping={"image": {"node": "1", "input": "image",
                                                                      "source": "file"}},
                     output_mapping={"images": {"node": "3"}})
        out = tmp_path / "work" / "out"
        task = reg.finished(reg.process("invert", [work], ["cat"], "comfy", out))
        prompts = len(comfy.queue.history())
    run = task.latest
    assert run is not None and run.status.value == "completed", run
    assert prompts == 3  # one prompt per image: 2 in cat_one, 1 in Cat-two
    assert sorted(p.name for p in (out / "cat_one").iterdir()) == ["img0.png", "img1.png"]
    with Image.open(work / "cat_one" / "img0.png") as original, Image.open(out / "cat_one" / "img0.png") as done:
        r, g, b = original.convert("RGB").getpixel((0, 0))
        assert done.convert("RGB").getpixel((0, 0)) == (255 - r, 255 - g, 255 - b)


def test_a_graph_the_server_rejects_fails_each_item_naming_the_node(reg: Registry, work: Path,
                                                                     tmp_path: Path) -> None:
    graph = {**INVERT_GRAPH, "2": {"class_type": "ImageScale", "inputs": {
        "image": ["1", 0], "upscale_method": "sideways", "width": 8, "height": 8, "crop": "disabled"}}}
    with FakeComfyUI(tmp_path / "comfy") as comfy:
        reg.server("comfy", url=comfy.url, type="comfyui")
        reg.workflow("broken", graph, input_mapping={"image": {"node": "1", "input": "image", "source": "file"}})
        task = reg.finished(reg.process("broken", [work], ["dog"], "comfy", tmp_path / "work" / "out"))
    run = task.latest
    assert run is not None and run.status.value == "failed"
    [item] = (run.result or {})["items"]
    assert item["status"] == "failed" and "node 2 (ImageScale)" in item["error"] and "sideways" in item["error"]
    assert run.error_message is not None and "dog" in run.error_message
    assert reg.servers.get("comfy").current_task_id is None


def test_items_wait_for_a_server_in_maintenance_and_fail_clearly_if_it_stays_away(
        reg: Registry, work: Path, tmp_path: Path) -> None:
    with FakeHttpGenerator(tmp_path / "http") as service:
        reg.server("gen", url=service.url, type="http", batch_size=1)
        reg.workflow("slow", {"task": "slow", "params": {"steps": 2, "seconds_per_step": 0.2}})
        task_id = reg.process("slow", [work], [], "gen", tmp_path / "work" / "out")
        wait_for(lambda: len(service.jobs) >= 1, timeout=30, what="the first item to start")
        reg.servers.set_status("gen", "maintenance")  # the monitor leaves maintenance alone
        task = reg.finished(task_id)
    result = (task.latest.result or {}) if task.latest else {}
    assert result["success_count"] >= 1 and result["fail_count"] >= 1, result
    failed = [i for i in result["items"] if i["status"] == "failed"]
    assert all("has been in maintenance since" in i["error"] and "server_wait_s (1.5 s)" in i["error"]
               for i in failed), failed
    # The wait counts from when the server went away, once for the whole batch: the items queued
    # behind the first (batch_size 1) do not each wait server_wait_s again.
    assert len({i["error"] for i in failed}) == 1, failed
    assert len(service.jobs) == result["success_count"]  # nothing was sent while it was away


class _Waited(Exception):
    pass


def test_an_item_waits_only_while_its_server_has_been_away_less_than_server_wait_s(core: Core, reg: Registry) -> None:
    host = BatchHost(reg.batch.jobs)
    reg.server("gen")
    reg.servers.set_status("gen", "maintenance")
    polls: list[int] = []

    def stop_at_first_poll() -> None:
        polls.append(1)
        raise _Waited

    with pytest.raises(_Waited):  # away just now: the item waits (and polls for a cancel)
        host.wait_for_server("gen", stop_at_first_poll)
    with core.runtime.db.transaction() as s:  # away for a minute, longer than server_wait_s (1.5 s)
        s.execute(update(ServerRow).where(ServerRow.name == "gen")
                  .values(updated_at=datetime.now(UTC) - timedelta(minutes=1)))
    polls.clear()
    with pytest.raises(GeneratorError, match=r"has been in maintenance since .* longer than server_wait_s") as failed:
        host.wait_for_server("gen", stop_at_first_poll)
    assert failed.value.code == "SERVER_UNAVAILABLE" and polls == []  # at once: no wait of its own


def test_task_crud_execute_on_a_server_and_history(reg: Registry, work: Path, tmp_path: Path) -> None:
    reg.server("server1")
    out = tmp_path / "work" / "out"
    task = reg.batch.create_task(NewTask(name="nightly", workflow_id=0, description="thumbs",
                                         parameters={"target_folders": [str(work)], "folder_keywords": ["dog"],
                                                     "output_root": str(out), "thumbnail_size": 16}))
    assert (task.workflow_name, task.latest) == ("local-image", None)
    first = reg.batch.execute(task.id, reg.servers.get("server1").id)
    reg.finished(task.id)
    second = reg.batch.execute(task.id, "server1")
    reg.finished(task.id)
    history = reg.batch.executions(task.id)
    assert [e.id for e in history] == [second.id, first.id]
    assert [e.id for e in reg.batch.executions(task.id, skip=1, limit=1)] == [first.id]
    done = reg.batch.get_execution(first.id)
    assert done.status.value == "completed" and (done.result or {})["processed_files"] == 3
    assert (out / "dog" / "img0_thumb.png").exists()
    renamed = reg.batch.update_task(task.id, {"name": "weekly", "parameters": {"x": 1}})
    assert (renamed.name, renamed.parameters) == ("weekly", {"x": 1})
    with pytest.raises(IllegalTransition):
        reg.batch.set_execution_status(first.id, "running")
    reg.batch.delete_task(task.id)
    assert reg.batch.list_tasks() == []


def test_cancelling_an_execution_stops_its_items_and_frees_the_server(core: Core, reg: Registry, work: Path,
                                                                      tmp_path: Path) -> None:
    with FakeHttpGenerator(tmp_path / "http") as service:
        reg.server("gen", url=service.url, type="http", batch_size=1)
        reg.workflow("slow", {"task": "slow", "params": {"steps": 50, "seconds_per_step": 0.1}})
        task_id = reg.process("slow", [work], [], "gen", tmp_path / "work" / "out")
        wait_for(lambda: any(j.status == "running" for j in service.jobs.values()), timeout=30,
                 what="an item to run")
        run = reg.batch.get_task(task_id).latest
        assert run is not None
        cancelled = reg.batch.set_execution_status(run.id, "cancelled", error_message="not today")
        assert (cancelled.status.value, cancelled.error_message) == ("cancelled", "not today")
        wait_for(lambda: all(j.ended.is_set() for j in service.jobs.values()), timeout=30,
                 what="the remote work to stop")
    with core.runtime.db.read() as s:
        children = batch_repo.child_jobs(s, f"batch:{run.id}")
    wait_for(lambda: all(core.jobs.get(c.id).status.terminal for c in children.values()), timeout=30)
    assert {core.jobs.get(c.id).status.value for c in children.values()} == {"CANCELED"}
    assert reg.servers.get("gen").current_task_id is None
    assert reg.batch.get_execution(run.id).status.value == "cancelled"
