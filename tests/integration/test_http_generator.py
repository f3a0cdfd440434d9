"""The generic http generator client against a local service speaking the protocol."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from montage.errors import GeneratorError, JobCanceled
from montage.generators.remote import HttpGeneratorClient
from tests.support.fake_http_generator import FakeHttpGenerator

pytestmark = pytest.mark.timeout(60)


class ProgressLog:
    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []
        self.moving = threading.Event()

    def __call__(self, percent: float, message: str) -> None:
        self.calls.append((percent, message))
        if percent > 0:
            self.moving.set()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[FakeHttpGenerator]:
    with FakeHttpGenerator(tmp_path / "service", step_delay=0.005) as fake:
        yield fake


@pytest.fixture
def client(service: FakeHttpGenerator) -> Iterator[HttpGeneratorClient]:
    with HttpGeneratorClient(service.url, poll_interval=0.005, max_poll_interval=0.05) as http:
        yield http


def test_health(client: HttpGeneratorClient) -> None:
    assert client.health()["status"] == "ok"


def test_success_downloads_a_real_png(client: HttpGeneratorClient, tmp_path: Path) -> None:
    progress = ProgressLog()
    params = {"width": 48, "height": 24, "color": [0, 128, 255], "steps": 4}

    run = client.run("image.solid", {}, params, tmp_path / "out", progress)

    assert run.job.status == "succeeded"
    assert [f.name for f in run.files] == ["solid.png"]
    with Image.open(run.files[0]) as png:
        assert (png.format, png.size, png.getpixel((5, 5))) == ("PNG", (48, 24), (0, 128, 255))
    percents = [p for p, _ in progress.calls]
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert not list((tmp_path / "out").glob(".part-*"))


def test_failure_carries_the_services_code(client: HttpGeneratorClient, tmp_path: Path) -> None:
    with pytest.raises(GeneratorError) as caught:
        client.run("fail", {}, {"code": "CONTENT_BLOCKED", "message": "prompt refused"}, tmp_path)

    error = caught.value
    assert error.code == "HTTP_GENERATOR_FAILED"
    assert (error.details["remote_code"], error.details["remote_message"]) == ("CONTENT_BLOCKED", "prompt refused")
    assert error.retryable is False
    assert "CONTENT_BLOCKED: prompt refused" in error.message


def test_failure_may_be_marked_retryable(client: HttpGeneratorClient, tmp_path: Path) -> None:
    with pytest.raises(GeneratorError) as caught:
        client.run("fail", {}, {"code": "GPU_OOM", "retryable": True}, tmp_path)
    assert caught.value.retryable is True


def test_cancel_stops_the_job_on_the_service(client: HttpGeneratorClient, service: FakeHttpGenerator,
                                             tmp_path: Path) -> None:
    job_id = client.submit("slow", {}, {"steps": 100_000, "seconds_per_step": 0.01})
    progress = ProgressLog()

    with pytest.raises(JobCanceled):
        client.wait(job_id, progress, progress.moving.is_set)

    assert progress.calls, "the job reported progress before it was canceled"
    assert client.status(job_id).status == "canceled"
    assert client.cancel(job_id) is False  # already ended: 409


def test_a_job_canceled_by_the_service_is_reported_as_canceled(client: HttpGeneratorClient) -> None:
    job_id = client.submit("slow", {}, {"steps": 100_000, "seconds_per_step": 0.01})

    def cancel_behind_our_back() -> bool:
        client.cancel(job_id)
        return False

    with pytest.raises(JobCanceled, match="canceled by the generator"):
        client.wait(job_id, is_cancelled=cancel_behind_our_back)


def test_max_wait_cancels_and_times_out(client: HttpGeneratorClient) -> None:
    job_id = client.submit("slow", {}, {"steps": 100_000, "seconds_per_step": 0.01})

    with pytest.raises(GeneratorError) as caught:
        client.wait(job_id, max_wait=0.1)

    assert caught.value.code == "HTTP_GENERATOR_TIMEOUT"
    assert client.status(job_id).status == "canceled"


def test_unknown_task_is_rejected(client: HttpGeneratorClient) -> None:
    with pytest.raises(GeneratorError) as caught:
        client.submit("video.dream", {}, {})
    assert caught.value.code == "HTTP_GENERATOR_REJECTED"
    assert caught.value.details["remote_code"] == "UNKNOWN_TASK"
    assert caught.value.details["status"] == 400


def test_idempotency_key_returns_the_first_job(client: HttpGeneratorClient, service: FakeHttpGenerator) -> None:
    first = client.submit("image.solid", {}, {}, idempotency_key="stage-42-attempt-1")
    again = client.submit("image.solid", {}, {}, idempotency_key="stage-42-attempt-1")
    other = client.submit("image.solid", {}, {})
    assert first == again != other
    assert len(service.jobs) == 2


def test_unknown_job_is_lost(client: HttpGeneratorClient) -> None:
    with pytest.raises(GeneratorError) as caught:
        client.status("does-not-exist")
    assert caught.value.code == "HTTP_GENERATOR_JOB_LOST"


def test_path_outputs_need_a_shared_folder(service: FakeHttpGenerator, tmp_path: Path) -> None:
    with HttpGeneratorClient(service.url, poll_interval=0.005) as plain:
        with pytest.raises(GeneratorError) as caught:
            plain.run("image.solid", {}, {"as_path": True}, tmp_path / "refused")
        assert caught.value.code == "HTTP_GENERATOR_OUTPUT_NOT_ALLOWED"
    with HttpGeneratorClient(service.url, poll_interval=0.005, local_root=service.files_dir) as shared:
        run = shared.run("image.solid", {}, {"as_path": True, "width": 8, "height": 8}, tmp_path / "copied")
    assert Image.open(run.files[0]).size == (8, 8)


def test_unreachable_service(service: FakeHttpGenerator) -> None:
    with HttpGeneratorClient(service.url.rsplit(":", 1)[0] + ":9", connect_timeout=1) as nowhere, \
            pytest.raises(GeneratorError) as caught:
        nowhere.health()
    assert caught.value.code == "HTTP_GENERATOR_UNREACHABLE"
    assert caught.value.retryable is True
