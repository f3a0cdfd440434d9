"""Helpers for the servers / workflows / batch tests: folders of images, services over a core."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from montage.domain.batch import BatchTask
from montage.engine.server_queues import ServerQueues
from montage.services.batch import BatchRequest, BatchService
from montage.services.servers import NewServer, ServerService
from montage.services.workflows import WorkflowFields, WorkflowService
from tests.support.waiting import wait_for

#: A ComfyUI graph (API format): load the uploaded image, invert it, save it.
INVERT_GRAPH: dict[str, Any] = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "placeholder.png"}},
    "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "montage/inverted"}},
}


def make_folders(root: Path, counts: dict[str, int], size: tuple[int, int] = (64, 48)) -> Path:
    """``root/<name>/img<i>.png`` for each name, ``counts[name]`` images each."""
    for name, count in counts.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.new("RGB", size, (20 * i % 255, 120, 200)).save(folder / f"img{i}.png")
    return root


@dataclass
class Registry:
    servers: ServerService
    workflows: WorkflowService
    batch: BatchService

    def server(self, name: str, url: str = "http://localhost:8001", type: str = "local", batch_size: int = 2,
               online: bool = True) -> None:
        self.servers.register(NewServer(name=name, url=url, type=type, batch_size=batch_size))
        if online:
            wait_for(lambda: self.servers.get(name).status.value == "online", timeout=20,
                     what=f"server {name} online")

    def workflow(self, name: str, config: dict[str, Any], **fields: Any) -> int:
        return self.workflows.create(WorkflowFields(name=name, workflow_config=config, **fields)).id

    def process(self, workflow: str, targets: list[Path], keywords: list[str], server: str, out: Path,
                **parameters: Any) -> str:
        task, _ = self.batch.process(BatchRequest(workflow_name=workflow, target_folders=[str(t) for t in targets],
                                                  folder_keywords=keywords, selected_server=server,
                                                  output_root=str(out), parameters=parameters or None))
        return task.id

    def finished(self, task_id: str, timeout: float = 60.0) -> BatchTask:
        def ended() -> BatchTask | None:
            task = self.batch.get_task(task_id)
            return task if task.latest is not None and task.latest.status.terminal else None
        return wait_for(ended, timeout=timeout, what=f"task {task_id} to end")


def registry_over(core: Any) -> Registry:
    """The facade's services over an integration-test core (its engine's monitor probes servers)."""
    servers = ServerService(core.runtime, ServerQueues(core.runtime.settings))
    workflows = WorkflowService(core.runtime)
    workflows.seed_builtins()
    return Registry(servers, workflows, BatchService(core.jobs, servers, workflows))
