"""The upstream video provider against a local fake of a Jimeng-style async API (real HTTP).

First the client alone (status progression, failure codes, slow answers, dropped
connections, expiring URLs, vanished tasks, cancel), then the two upstream stages run by the
job core, so what a task shows comes from a real durable job.
"""

from __future__ import annotations

import base64
import io
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

from montage.errors import GeneratorError, JobCanceled
from montage.generators.remote.upstream_video import NOTICE, UpstreamVideoClient
from montage.generators.remote.upstream_video_config import UpstreamVideoConfig
from montage.pipelines.videos import work_progress
from montage.services.videos import Upload, VideoRequest, VideoService, owner_of
from tests.integration.conftest import Core
from tests.support.fake_video_upstream import FakeVideoUpstream
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeVideoUpstream]:
    with FakeVideoUpstream() as fake:
        yield fake


class Reports:
    """What ``follow`` reported, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def __call__(self, percent: float, message: str) -> None:
        self.calls.append((percent, message))

    @property
    def percents(self) -> list[float]:
        return [p for p, _ in self.calls]

    @property
    def notices(self) -> list[str]:
        return [m[len(NOTICE):] for _, m in self.calls if m.startswith(NOTICE)]


def follow(upstream: FakeVideoUpstream, prompt: str, dest: Path, **overrides: Any) -> tuple[str, Reports]:
    """Submit ``prompt`` to the fake and follow it to the end."""
    config = UpstreamVideoConfig.model_validate(upstream.provider(**overrides))
    reports = Reports()
    with UpstreamVideoClient(config) as client:
        task_id = client.submit({"model": "jimeng-video-3.0", "prompt": prompt, "ratio": "16:9", "resolution": "720p",
                                 "duration": 5, "images": [], "function_mode": "first_last_frames"})
        client.follow(task_id, time.time(), dest, reports)
    return task_id, reports


def failure(upstream: FakeVideoUpstream, prompt: str, tmp_path: Path, **overrides: Any) -> GeneratorError:
    with pytest.raises(GeneratorError) as caught:
        follow(upstream, prompt, tmp_path / "video.mp4", **overrides)
    assert not (tmp_path / "video.mp4").exists()
    return caught.value


def test_status_progression_is_reported_as_the_contracts_progress(upstream: FakeVideoUpstream,
                                                                  tmp_path: Path) -> None:
    dest = tmp_path / "video.mp4"
    task_id, reports = follow(upstream, "a cat #steps=20,42,45,50", dest)

    assert [p for p in reports.percents if p < 95] == [50.0, 80.0, 90.0]
    assert dest.read_bytes() == upstream.video
    with av.open(str(dest)) as video:
        assert video.streams.video[0].codec_context.name == "h264"
    assert upstream.submits[-1]["model"] == "jimeng-video-3.0" and upstream.submits[-1]["ratio"] == "16:9"
    assert upstream.tasks[task_id].reads == 4


def test_results_before_completion_estimate_ninety(upstream: FakeVideoUpstream, tmp_path: Path) -> None:
    _, reports = follow(upstream, "#steps=20,45,10 #items", tmp_path / "video.mp4")
    assert [p for p in reports.percents if p < 95] == [50.0, 90.0]


@pytest.mark.parametrize(("directive", "code", "message"), [
    ("#fail=5000", "UPSTREAM_FAIL_5000", "积分不足"),
    ("#fail=2003", "UPSTREAM_FAIL_2003", "内容违规"),
    ("#fail=1234", "UPSTREAM_FAIL_1234", "生成失败 (错误码: 1234)"),
    ("#fail=", "UPSTREAM_FAILED", "生成失败"),
])
def test_failures_carry_the_contracts_code_and_message(upstream: FakeVideoUpstream, tmp_path: Path,
                                                       directive: str, code: str, message: str) -> None:
    error = failure(upstream, f"a cat {directive}", tmp_path)
    assert (error.code, error.message, error.retryable) == (code, message, False)


def test_dropped_connections_keep_the_task_going_with_the_error_text(upstream: FakeVideoUpstream,
                                                                     tmp_path: Path) -> None:
    dest = tmp_path / "video.mp4"
    task_id, reports = follow(upstream, "#drop=3", dest)

    assert dest.read_bytes() == upstream.video
    assert upstream.tasks[task_id].dropped == 3
    assert reports.notices and all(n.startswith("查询失败: ") for n in reports.notices)
    assert f"cannot reach {upstream.url}/mweb/v1/get_history_by_ids: " in reports.notices[0]  # which address
    assert reports.calls[-1][1].startswith("downloading")  # the notice went away once reads worked


def test_too_many_failures_in_a_row_fail_the_task(upstream: FakeVideoUpstream, tmp_path: Path) -> None:
    error = failure(upstream, "#drop=50", tmp_path, max_consecutive_failures=4)
    assert error.code == "UPSTREAM_UNREACHABLE" and error.message.startswith("查询失败 4 次")


def test_slow_answers_time_out_and_count_as_failures(upstream: FakeVideoUpstream, tmp_path: Path) -> None:
    error = failure(upstream, "#slow=1", tmp_path, request_timeout_s=0.1, max_consecutive_failures=2)
    assert error.code == "UPSTREAM_UNREACHABLE" and "timed out" in error.message


def test_a_task_that_never_ends_fails_at_the_deadline(upstream: FakeVideoUpstream, tmp_path: Path) -> None:
    error = failure(upstream, "#hold", tmp_path, deadline_s=0.3)
    assert error.code == "UPSTREAM_DEADLINE"


def test_an_expired_url_is_fetched_again(upstream: FakeVideoUpstream, tmp_path: Path) -> None:
    before = len(upstream.downloads)
    dest = tmp_path / "video.mp4"
    _, reports = follow(upstream, "#expire=first", dest)

    assert upstream.downloads[before:] == [403, 200]
    assert dest.read_bytes() == upstream.video
    assert any(n.startswith("下载失败") for n in reports.notices)


def test_urls_that_always_expire_fail_after_the_attempts(upstream: FakeVideoUpstream, tmp_path: Path) -> None:
    error = failure(upstream, "#expire=always", tmp_path, download_attempts=2)
    assert error.code == "UPSTREAM_DOWNLOAD_FAILED" and "403" in error.message


def test_completed_without_a_url_keeps_processing_until_one_appears(upstream: FakeVideoUpstream,
                                                                    tmp_path: Path) -> None:
    _, reports = follow(upstream, "#steps=20,50 #nourl=2", tmp_path / "video.mp4")
    assert (95.0, f"{NOTICE}视频生成完成,正在提取URL") in reports.calls
    assert reports.calls.count((95.0, f"{NOTICE}视频生成完成,正在提取URL")) == 1  # reported once, not per read


def test_a_task_the_upstream_forgets_is_gone(upstream: FakeVideoUpstream, tmp_path: Path) -> None:
    error = failure(upstream, "#forget", tmp_path, missing_limit=3)
    assert (error.code, error.message) == ("UPSTREAM_TASK_NOT_FOUND", "任务不存在或已过期")


def test_a_refused_submit_is_not_retried(upstream: FakeVideoUpstream, tmp_path: Path) -> None:
    error = failure(upstream, "#reject", tmp_path)
    assert error.code == "UPSTREAM_REJECTED" and error.retryable is False and "400" in error.message


def test_a_missing_secret_is_a_configuration_error(upstream: FakeVideoUpstream) -> None:
    config = UpstreamVideoConfig.model_validate(upstream.provider(headers={"Authorization": "Bearer ${NO_SUCH_VAR}"}))
    with pytest.raises(GeneratorError) as caught:
        UpstreamVideoClient(config, env={})
    assert caught.value.code == "UPSTREAM_MISCONFIGURED" and "NO_SUCH_VAR" in caught.value.message


def test_cancel_stops_following(upstream: FakeVideoUpstream, tmp_path: Path) -> None:
    config = UpstreamVideoConfig.model_validate(upstream.provider())
    stop = threading.Event()
    reads_before = upstream.status_reads

    def cancel_after_a_read() -> None:
        wait_for(lambda: upstream.status_reads > reads_before, what="a status read")
        stop.set()

    with UpstreamVideoClient(config) as client:
        task_id = client.submit({"prompt": "#hold", "images": []})
        threading.Thread(target=cancel_after_a_read, daemon=True).start()
        with pytest.raises(JobCanceled):
            client.follow(task_id, time.time(), tmp_path / "video.mp4", None, stop.is_set)
    assert upstream.status_reads > reads_before and not (tmp_path / "video.mp4").exists()


# -- through the job core ------------------------------------------------------------------------------

@pytest.fixture
def core_settings(upstream: FakeVideoUpstream) -> dict[str, Any]:
    return {"video_upstream_models": {"jimeng-video-3.0": upstream.provider(),
                                      "jimeng-fast-fail": upstream.provider(max_consecutive_failures=2)}}


def run_task(core: Core, prompt: str, model: str = "jimeng-video-3.0") -> tuple[VideoService, str]:
    videos = VideoService(core.jobs)
    job = videos.submit(owner_of("token"), VideoRequest(prompt=prompt, model=model, ratio="16:9", duration=5))
    return videos, job.id


def test_the_job_follows_the_upstream_task_and_keeps_the_video(core: Core, upstream: FakeVideoUpstream) -> None:
    videos, task_id = run_task(core, "a cat #hold")
    held = wait_for(lambda: (j := videos.task(owner_of("token"), task_id)) and j.current_stage == "poll"
                    and work_progress(j) == 50.0 and j, what="the poll stage at status 20")
    assert held.status.value == "RUNNING"
    submitted = core.jobs.get(task_id).stage("submit")
    assert submitted is not None
    upstream.release(submitted.outputs["task_id"])

    done = core.wait_status(task_id, "SUCCEEDED", timeout=60)
    video = core.runtime.assets.job_dir(task_id) / "video" / "video.mp4"
    assert video.read_bytes() == upstream.video
    poll = done.stage("poll")
    assert poll is not None and poll.outputs["path"] == "video/video.mp4"
    assert [a.path for a in core.jobs.artifacts(task_id)] == ["video/video.mp4"]


def test_an_upstream_failure_is_the_jobs_error(core: Core) -> None:
    _, task_id = run_task(core, "#fail=5000")
    failed = core.wait_status(task_id, "FAILED", timeout=60)
    assert failed.error is not None and (failed.error.code, failed.error.message) == ("UPSTREAM_FAIL_5000", "积分不足")


def test_an_unreachable_upstream_fails_the_job_with_a_clear_code(core: Core) -> None:
    _, task_id = run_task(core, "#drop=50", model="jimeng-fast-fail")
    failed = core.wait_status(task_id, "FAILED", timeout=60)
    assert failed.error is not None and failed.error.code == "UPSTREAM_UNREACHABLE"


def test_uploaded_pictures_reach_the_upstream_as_data_uris(core: Core, upstream: FakeVideoUpstream) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 30)).save(picture, format="PNG")
    videos = VideoService(core.jobs)
    job = videos.submit(owner_of("token"), VideoRequest(
        prompt=f"from this frame {uuid.uuid4().hex}", model="jimeng-video-3.0",
        uploads=[Upload("image_file_1", "f.png", picture.getvalue())],
        file_paths=["http://127.0.0.1:9/last.png"]))
    core.wait_status(job.id, "SUCCEEDED", timeout=60)

    sent = next(s for s in upstream.submits if s["prompt"] == job.input["prompt"])
    first, last = sent["file_paths"]
    assert first == "data:image/png;base64," + base64.b64encode(picture.getvalue()).decode()
    assert last == "http://127.0.0.1:9/last.png"  # a URL is passed on, not fetched
    assert (core.runtime.assets.job_dir(job.id) / "inputs" / "first.png").read_bytes() == picture.getvalue()
