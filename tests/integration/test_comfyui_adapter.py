"""The ComfyUI client against a local ComfyUI-protocol server, over real HTTP and websocket."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from montage.errors import GeneratorError, JobCanceled, JobTimedOut, ValidationFailed
from montage.generators.remote import ComfyUIClient, apply_input_mapping
from tests.support.fake_comfyui import FakeComfyUI

pytestmark = pytest.mark.timeout(60)

STEP = re.compile(r": (\d+)/(\d+)$")


class ProgressLog:
    """Records ``(percent, message)`` calls; ``stepped`` is set at the first in-node step."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []
        self.stepped = threading.Event()

    def __call__(self, percent: float, message: str) -> None:
        self.calls.append((percent, message))
        if STEP.search(message):
            self.stepped.set()

    @property
    def steps(self) -> list[str]:
        return [m for _, m in self.calls if STEP.search(m)]


def pipeline(image: str, *, slow_steps: int = 3, seconds_per_step: float = -1.0,
             middle: str = "MontageSlow") -> dict[str, Any]:
    """LoadImage → ImageScale(width 80) → middle → ImageInvert → SaveImage."""
    middle_inputs: dict[str, Any] = {"image": ["2", 0]}
    if middle == "MontageSlow":
        middle_inputs |= {"steps": slow_steps, "seconds_per_step": seconds_per_step}
    else:
        middle_inputs |= {"message": "boom: the model fell over"}
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": image}},
        "2": {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "bilinear",
                                                     "width": 80, "height": 0, "crop": "disabled"}},
        "3": {"class_type": middle, "inputs": middle_inputs},
        "4": {"class_type": "ImageInvert", "inputs": {"image": ["3", 0]}},
        "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "montage/out"}},
    }


@pytest.fixture
def source_png(tmp_path: Path) -> Path:
    path = tmp_path / "source.png"
    Image.new("RGB", (40, 30), (10, 200, 30)).save(path)
    return path


@pytest.fixture(params=["websocket", "polling"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(tmp_path: Path, mode: str) -> Iterator[FakeComfyUI]:
    with FakeComfyUI(tmp_path / "comfy", step_delay=0.002, websocket=mode == "websocket") as fake:
        yield fake


@pytest.fixture
def client(server: FakeComfyUI) -> Iterator[ComfyUIClient]:
    with ComfyUIClient(server.url, poll_interval=0.01, max_poll_interval=0.05) as comfy:
        yield comfy


def test_upload_queue_follow_history_download(client: ComfyUIClient, source_png: Path, tmp_path: Path,
                                              mode: str) -> None:
    name = client.upload_image(source_png)
    assert client.connect() is (mode == "websocket")
    graph = pipeline(name)
    prompt_id = client.queue_prompt(graph)
    progress = ProgressLog()

    entry = client.follow(prompt_id, progress, total_nodes=len(graph))

    assert entry == client.history(prompt_id)
    assert entry["status"]["status_str"] == "success"
    assert list(entry["outputs"]) == ["5"]
    if mode == "websocket":
        assert progress.steps == ["node 3: 1/3", "node 3: 2/3", "node 3: 3/3"]
        percents = [p for p, _ in progress.calls]
        assert percents == sorted(percents)
    assert progress.calls[-1] == (100.0, "done")
    files = client.download_outputs(entry, tmp_path / "out")
    assert [f.name for f in files] == ["out_00001_.png"]
    with Image.open(files[0]) as png:
        assert png.format == "PNG"
        assert png.size == (80, 60)
        assert png.getpixel((0, 0)) == (245, 55, 225)  # inverted (10, 200, 30)


def test_run_fills_a_mapped_graph(client: ComfyUIClient, source_png: Path, tmp_path: Path) -> None:
    mapping = {"image": {"node": "1", "input": "image"}, "width": {"node": "2", "input": "width"}}
    template = pipeline("placeholder.png")
    graph = apply_input_mapping(template, mapping, {"image": client.upload_image(source_png), "width": 20})

    run = client.run(graph, tmp_path / "out")

    assert template["1"]["inputs"]["image"] == "placeholder.png"  # the template is left alone
    with Image.open(run.files[0]) as png:
        assert png.size == (20, 15)


def test_unknown_class_type_is_rejected_naming_the_node(client: ComfyUIClient, source_png: Path) -> None:
    graph = pipeline(client.upload_image(source_png))
    graph["3"]["class_type"] = "NoSuchSampler"

    with pytest.raises(GeneratorError) as caught:
        client.queue_prompt(graph)

    error = caught.value
    assert error.code == "COMFYUI_GRAPH_REJECTED"
    assert error.retryable is False
    assert error.details["node_ids"] == ["3"]
    assert error.details["nodes"][0]["class_type"] == "NoSuchSampler"
    assert "NoSuchSampler does not exist" in error.message


def test_missing_input_is_rejected_with_node_errors(client: ComfyUIClient, source_png: Path) -> None:
    graph = pipeline(client.upload_image(source_png))
    del graph["2"]["inputs"]["width"]
    graph["1"]["inputs"]["image"] = "not-uploaded.png"

    with pytest.raises(GeneratorError) as caught:
        client.queue_prompt(graph)

    nodes = {n["node_id"]: n for n in caught.value.details["nodes"]}
    assert caught.value.code == "COMFYUI_GRAPH_REJECTED"
    assert caught.value.details["error_type"] == "prompt_outputs_failed_validation"
    assert nodes["2"]["class_type"] == "ImageScale"
    assert "Required input is missing: width" in nodes["2"]["message"]
    assert "Invalid image file: not-uploaded.png" in nodes["1"]["message"]


def test_execution_error_is_mapped(client: ComfyUIClient, source_png: Path) -> None:
    graph = pipeline(client.upload_image(source_png), middle="MontageFail")
    client.connect()
    prompt_id = client.queue_prompt(graph)

    with pytest.raises(GeneratorError) as caught:
        client.follow(prompt_id)

    error = caught.value
    assert error.code == "COMFYUI_EXECUTION_ERROR"
    assert error.retryable is False
    assert {k: error.details[k] for k in ("prompt_id", "node_id", "node_type", "exception_type")} == {
        "prompt_id": prompt_id, "node_id": "3", "node_type": "MontageFail", "exception_type": "RuntimeError"}
    assert error.details["exception_message"] == "boom: the model fell over"
    assert any("raise RuntimeError" in line for line in error.details["traceback"])
    assert "node 3 (MontageFail)" in error.message


def test_cancel_interrupts_a_running_prompt(client: ComfyUIClient, server: FakeComfyUI, source_png: Path,
                                            mode: str) -> None:
    graph = pipeline(client.upload_image(source_png), slow_steps=100_000, seconds_per_step=0.01)
    client.connect()
    prompt_id = client.queue_prompt(graph)
    progress = ProgressLog()
    # With a websocket, stop at the first step seen; when polling (no events), once the server
    # has entered the slow node.
    started = progress.stepped.is_set if mode == "websocket" else lambda: server.last_node_id == "3"

    with pytest.raises(JobCanceled):
        client.follow(prompt_id, progress, started)

    entry = client.history(prompt_id)
    assert entry is not None
    assert entry["status"]["messages"][-1][0] == "execution_interrupted"
    assert entry["status"]["messages"][-1][1]["node_id"] == "3"
    assert client.queue() == ([], [])


def test_interrupt_by_someone_else_is_reported_as_canceled(server: FakeComfyUI, source_png: Path) -> None:
    with ComfyUIClient(server.url) as ours, ComfyUIClient(server.url) as theirs:
        graph = pipeline(ours.upload_image(source_png), slow_steps=100_000, seconds_per_step=0.01)
        ours.connect()
        prompt_id = ours.queue_prompt(graph)

        def interrupt_when_stepping() -> bool:
            if prompt_id in theirs.queue()[0]:
                theirs.interrupt()
            return False

        with pytest.raises(JobCanceled) as caught:
            ours.follow(prompt_id, is_cancelled=interrupt_when_stepping)

    assert caught.value.details["node_type"] in ("LoadImage", "ImageScale", "MontageSlow")


def test_cancel_of_a_queued_prompt_deletes_it_and_spares_the_running_one(
        client: ComfyUIClient, source_png: Path) -> None:
    name = client.upload_image(source_png)
    running = client.queue_prompt(pipeline(name, slow_steps=100_000, seconds_per_step=0.01))
    waiting = client.queue_prompt(pipeline(name))

    with pytest.raises(JobCanceled):
        client.follow(waiting, is_cancelled=lambda: True)

    running_ids, pending_ids = client.queue()
    assert waiting not in running_ids + pending_ids and client.history(waiting) is None
    assert running in running_ids + pending_ids and client.history(running) is None
    assert client.cancel_prompt(running) in ("interrupted", "deleted")


def test_a_raising_cancel_check_is_re_raised_after_stopping(client: ComfyUIClient, source_png: Path) -> None:
    prompt_id = client.queue_prompt(pipeline(client.upload_image(source_png), slow_steps=100_000,
                                             seconds_per_step=0.01))

    def check_cancelled() -> None:
        if prompt_id in client.queue()[0]:
            raise JobTimedOut()

    with pytest.raises(JobTimedOut):
        client.follow(prompt_id, is_cancelled=check_cancelled)
    assert client.queue() == ([], [])


def test_max_wait_stops_the_prompt(client: ComfyUIClient, source_png: Path) -> None:
    prompt_id = client.queue_prompt(pipeline(client.upload_image(source_png), slow_steps=100_000,
                                             seconds_per_step=0.01))

    with pytest.raises(GeneratorError) as caught:
        client.follow(prompt_id, max_wait=0.2)

    assert caught.value.code == "COMFYUI_TIMEOUT"
    assert client.queue() == ([], [])


def test_websocket_dropping_midway_falls_back_to_polling(tmp_path: Path, source_png: Path) -> None:
    with FakeComfyUI(tmp_path / "comfy", step_delay=0.002, drop_websocket_after=4) as server, \
            ComfyUIClient(server.url, poll_interval=0.01) as client:
        graph = pipeline(client.upload_image(source_png), slow_steps=20)
        progress = ProgressLog()
        run = client.run(graph, tmp_path / "out", progress)

    assert run.history["status"]["completed"] is True
    assert progress.calls[-1] == (100.0, "done")
    assert len(progress.steps) < 20  # the socket went away before the steps were all reported
    assert Image.open(run.files[0]).size == (80, 60)


def test_output_nodes_select_what_is_downloaded(client: ComfyUIClient, source_png: Path, tmp_path: Path) -> None:
    graph = pipeline(client.upload_image(source_png))
    graph["6"] = {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}
    entry = client.run(graph, tmp_path / "saved").history

    only_preview = client.download_outputs(entry, tmp_path / "preview", output_nodes=["6"])

    assert [p.name for p in client.download_outputs(entry, tmp_path / "all")] == ["out_00001_.png"]
    assert len(only_preview) == 1 and only_preview[0].name.startswith("ComfyUI_temp_")


def test_system_stats_and_unreachable_server(client: ComfyUIClient, server: FakeComfyUI) -> None:
    assert client.system_stats()["devices"][0]["type"] == "cpu"
    with ComfyUIClient(server.url.rsplit(":", 1)[0] + ":9", connect_timeout=1) as nowhere, \
            pytest.raises(GeneratorError) as caught:
        nowhere.system_stats()
    assert caught.value.code == "COMFYUI_UNREACHABLE"
    assert caught.value.retryable is True


def test_apply_input_mapping_refuses_unknown_names_and_nodes() -> None:
    graph = {"3": {"class_type": "KSampler", "inputs": {"seed": 1}}}
    mapping = {"seed": [{"node": "3", "input": "seed"}, {"node": 3, "input": "noise_seed"}],
               "image": {"node": "10", "input": "image"}}

    filled = apply_input_mapping(graph, mapping, {"seed": 42})
    assert filled["3"]["inputs"] == {"seed": 42, "noise_seed": 42}
    assert graph["3"]["inputs"] == {"seed": 1}
    with pytest.raises(ValidationFailed) as unknown_value:
        apply_input_mapping(graph, mapping, {"steps": 20})
    assert unknown_value.value.details == {"field": "inputs.steps", "allowed": ["image", "seed"]}
    with pytest.raises(ValidationFailed) as missing_node:
        apply_input_mapping(graph, mapping, {"image": "x.png"})
    assert missing_node.value.details == {"field": "input_mapping.image.node", "allowed": ["3"]}
    with pytest.raises(ValidationFailed, match="must be"):
        apply_input_mapping(graph, {"seed": {"node": "3"}}, {"seed": 1})
