"""Processing servers and workflow definitions on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from montage.errors import (
    ServerInUse,
    ServerNameTaken,
    ServerNotFound,
    ValidationFailed,
    WorkflowArchived,
    WorkflowNotFound,
    WorkflowVersionExists,
)
from montage.services.servers import NewServer
from montage.services.workflows import WorkflowFields
from tests.integration.conftest import Core
from tests.support.fake_comfyui import FakeComfyUI
from tests.support.fake_http_generator import FakeHttpGenerator
from tests.support.registry import Registry, registry_over
from tests.support.server import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def core_settings(tmp_path: Path) -> dict[str, Any]:
    return {"allowed_roots": [tmp_path], "server_health_interval_s": 0.3, "server_health_timeout_s": 2.0}


@pytest.fixture
def reg(core: Core) -> Iterator[Registry]:
    yield registry_over(core)


def status(reg: Registry, name: str) -> str:
    return reg.servers.get(name).status.value


def test_register_read_change_and_delete_a_server_keeps_its_queue_in_step(reg: Registry) -> None:
    server = reg.servers.register(NewServer(name="gpu-1", url="http://127.0.0.1:1/", type="comfyui", batch_size=3))
    assert (server.status.value, server.current_task_id, server.url) == ("offline", None, "http://127.0.0.1:1")
    queue = DBOS.retrieve_queue("server:gpu-1")
    assert queue is not None and queue.global_concurrency == 3
    with pytest.raises(ServerNameTaken):
        reg.servers.register(NewServer(name="gpu-1", url="http://127.0.0.1:2", type="comfyui"))
    for bad in ({"url": "not a url"}, {"batch_size": 0}, {"type": "gpu"}):
        with pytest.raises(ValidationFailed):
            reg.servers.register(NewServer(**{"name": "x", "url": "http://h", **bad}))
    assert [s.name for s in reg.servers.list_servers()] == ["gpu-1"]
    assert reg.servers.get(str(server.id)).name == "gpu-1"
    changed = reg.servers.update("gpu-1", {"batch_size": 5, "enabled": False, "url": None})
    assert (changed.batch_size, changed.enabled, changed.url) == (5, False, "http://127.0.0.1:1")
    queue = DBOS.retrieve_queue("server:gpu-1")
    assert queue is not None and queue.global_concurrency == 5
    reg.servers.delete("gpu-1")
    with pytest.raises(ServerNotFound):
        reg.servers.get("gpu-1")
    assert DBOS.retrieve_queue("server:gpu-1") is None


def test_the_monitor_probes_each_kind_of_server_and_respects_maintenance(reg: Registry, tmp_path: Path) -> None:
    with FakeComfyUI(tmp_path / "comfy") as comfy, FakeHttpGenerator(tmp_path / "http") as http:
        reg.servers.register(NewServer(name="comfy", url=comfy.url, type="comfyui"))
        reg.servers.register(NewServer(name="gen", url=http.url, type="http"))
        reg.servers.register(NewServer(name="here", url="http://localhost:8001", type="local"))
        reg.servers.register(NewServer(name="dead", url=f"http://127.0.0.1:{free_port()}", type="http"))
        wait_for(lambda: all(status(reg, n) == "online" for n in ("comfy", "gen", "here")), timeout=20,
                 what="probes to bring the live servers online")
        dead = wait_for(lambda: (s := reg.servers.get("dead")).health == "unhealthy" and s, timeout=20)
        assert dead.status.value == "offline" and "HTTP_GENERATOR_UNREACHABLE" in (dead.health_error or "")
        assert {s.name for s in reg.servers.available()} == {"comfy", "gen", "here"}
        reg.servers.set_status("gen", "maintenance")
        checked = reg.servers.get("gen").checked_at
        wait_for(lambda: reg.servers.get("gen").checked_at != checked, timeout=20, what="another probe")
        assert status(reg, "gen") == "maintenance"
        assert reg.servers.check_health("comfy")[0] is True
    wait_for(lambda: status(reg, "comfy") == "offline", timeout=20, what="the stopped ComfyUI to go offline")
    assert reg.servers.check_health("comfy")[0] is False
    with pytest.raises(ValidationFailed):
        reg.servers.set_status("here", "sleeping")


def test_a_claimed_server_is_busy_until_released_and_cannot_be_deleted(reg: Registry) -> None:
    reg.server("here")
    server = reg.servers.get("here")
    assert reg.servers.claim(server, "task-1")
    assert not reg.servers.claim(reg.servers.get("here"), "task-2")
    busy = reg.servers.get("here")
    assert (busy.status.value, busy.current_task_id) == ("busy", "task-1")
    assert reg.servers.available() == []
    with pytest.raises(ServerInUse):
        reg.servers.delete("here")
    assert reg.servers.release("here", "task-1")
    assert (status(reg, "here"), reg.servers.get("here").current_task_id) == ("online", None)


def test_workflow_versions_names_and_status(reg: Registry) -> None:
    first = reg.workflows.create(WorkflowFields(name="测试工作流", scenario="图像处理", workflow_config={"nodes": []}))
    assert (first.version, first.parent_id, first.status.value) == ("1.0.0", None, "normal")
    with pytest.raises(WorkflowVersionExists):
        reg.workflows.create(WorkflowFields(name="测试工作流", version="1.0.0"))
    second = reg.workflows.new_version(first.id, WorkflowFields(description="更新了工作流配置"))
    third = reg.workflows.new_version(first.id, WorkflowFields())
    assert (second.version, second.parent_id, second.description) == ("1.0.1", first.id, "更新了工作流配置")
    assert (third.version, third.parent_id, third.scenario) == ("1.0.2", first.id, "图像处理")
    with pytest.raises(WorkflowVersionExists):
        reg.workflows.new_version(first.id, WorkflowFields(version="1.0.1"))
    assert [w.version for w in reg.workflows.versions(third.id)] == ["1.0.0", "1.0.1", "1.0.2"]
    reg.workflows.change_status(second.id, "hide")
    listed = {w.id for w in reg.workflows.list_workflows()}
    assert second.id not in listed and {first.id, third.id} <= listed
    assert [w.id for w in reg.workflows.list_workflows(status="hidden")] == [second.id]
    assert [w.id for w in reg.workflows.list_workflows(scenario="图像处理", skip=1, limit=1)] == [third.id]
    assert reg.workflows.runnable("测试工作流").id == third.id
    for w in (first, second, third):
        reg.workflows.change_status(w.id, "archive")
    with pytest.raises(WorkflowArchived):
        reg.workflows.runnable("测试工作流")
    with pytest.raises(WorkflowArchived):
        reg.workflows.change_status(first.id, "show")
    assert reg.workflows.change_status(first.id, "activate").status.value == "normal"
    renamed = reg.workflows.update(third.id, WorkflowFields(name="renamed", parameters={"k": 1}))
    assert (renamed.name, renamed.parameters, renamed.version) == ("renamed", {"k": 1}, "1.0.2")
    reg.workflows.delete(first.id)
    with pytest.raises(WorkflowNotFound):
        reg.workflows.get(first.id)
    assert reg.workflows.get(second.id).parent_id is None


def test_the_builtin_workflow_is_seeded_once_with_id_zero_and_bad_configs_are_refused(reg: Registry) -> None:
    builtin = reg.workflows.get(0)
    assert (builtin.name, builtin.kind.value, builtin.status.value) == ("local-image", "local", "normal")
    assert reg.workflows.seed_builtins() == 0
    assert reg.workflows.create(WorkflowFields(name="mine")).id == 1  # users' workflows are numbered from 1
    with pytest.raises(ValidationFailed) as caught:
        reg.workflows.create(WorkflowFields(name="bad", workflow_config={"nodes": [{"id": "x", "type": "blur"}]}))
    assert caught.value.details["field"] == "workflow_config.nodes[0].type"
    with pytest.raises(ValidationFailed):
        reg.workflows.create(WorkflowFields(name="bad", input_mapping={"x": {"node": "1", "source": "moon"}}))
