"""The async video API over real HTTP against `montage serve` (``async-video-api-plan.md``).

The seed's test cases — submit, processing, completed, unknown task — with the built-in model
and with an upstream model served by a local fake of the upstream API; then tokens, failure
codes, pictures and bad input. Tasks are independent, so one server serves the whole module
(per database backend); only the "no keys configured" (dev mode) case starts its own.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import av
import httpx
import numpy as np
import pytest
from PIL import Image

from tests.support.databases import BACKEND_PARAMS, fresh_database
from tests.support.fake_video_upstream import FakeVideoUpstream
from tests.support.keys import add_keys
from tests.support.server import ServerProcess
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

TOKEN, OTHER_TOKEN = "sk-video-test-token-1", "sk-video-test-token-2"  # montage API keys (docs/auth.md)
UPSTREAM_MODEL = "jimeng-video-3.0"
NOT_FOUND = {"error": "任务不存在或已过期"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeVideoUpstream]:
    with FakeVideoUpstream() as fake:
        yield fake


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def video_server(request: pytest.FixtureRequest, upstream: FakeVideoUpstream,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """`montage serve` with two write keys as the video API's tokens and an upstream model pointing
    at the fake."""
    tmp = tmp_path_factory.mktemp(f"videos-{request.param}")
    env = {"MONTAGE_VIDEO_UPSTREAM_MODELS": json.dumps({UPSTREAM_MODEL: upstream.provider()})}
    with fresh_database(request.param, tmp) as url:
        add_keys(tmp / "data", url, {"video-1": (TOKEN, "write"), "video-2": (OTHER_TOKEN, "write")})
        proc = ServerProcess(tmp / "data", url, env=env)
        try:
            yield proc.start()
        finally:
            proc.stop()  # also when start() timed out: no orphan server


@pytest.fixture
def api(video_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=video_server.url, headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=90) as client:
        yield client


def submit(api: httpx.Client, **body: Any) -> str:
    response = api.post("/v1/videos/generations", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"created", "task_id", "status"} and answer["status"] == "pending"
    assert isinstance(answer["created"], int)
    return str(answer["task_id"])


def task(api: httpx.Client, task_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/videos/tasks/{task_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def until(api: httpx.Client, task_id: str, status: str, timeout: float = 60.0) -> dict[str, Any]:
    return wait_for(lambda: (body := task(api, task_id))["status"] == status and body, timeout=timeout,
                    interval=0.05, what=f"{task_id} to be {status}")


def frames_of(data: bytes) -> tuple[tuple[int, int], list[np.ndarray], float]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        return (stream.codec_context.width, stream.codec_context.height), frames, container.duration / 1e6


def test_upstream_task_pending_processing_completed_and_unknown(api: httpx.Client, video_server: ServerProcess,
                                                                upstream: FakeVideoUpstream) -> None:
    prompt = f"一只猫在玩毛线球 {uuid.uuid4().hex} #hold"
    task_id = submit(api, model=UPSTREAM_MODEL, prompt=prompt, ratio="16:9")

    processing = until(api, task_id, "processing")
    wait_for(lambda: task(api, task_id)["progress"] == 50, what="upstream status 20 → progress 50")
    assert task(api, task_id) == {"task_id": task_id, "status": "processing", "progress": 50}
    late = submit(api, model=UPSTREAM_MODEL, prompt=f"{prompt} #steps=45,50")
    wait_for(lambda: task(api, late)["progress"] == 90, what="upstream status 45 → progress 90")
    upstream.release(next(t.id for t in upstream.tasks.values() if t.body["prompt"].endswith("#steps=45,50")
                          and t.body["prompt"].startswith(prompt)))
    held = next(t for t in upstream.tasks.values() if t.body["prompt"] == prompt)
    assert held.body["ratio"] == "16:9" and processing["task_id"] == task_id
    upstream.release(held.id)

    done = until(api, task_id, "completed")
    url = done["result"]["url"]
    assert done == {"task_id": task_id, "status": "completed", "progress": 100, "result": {"url": url}}
    # served by montage, not the upstream, as a signed link a <video src> can use without a header
    assert url.startswith(f"{video_server.url}/assets/{task_id}/video/video.mp4?expires=")
    video = httpx.get(url, timeout=30)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content == upstream.video

    unknown = api.get("/v1/videos/tasks/7535099487211244578")
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)


def test_builtin_model_makes_the_mp4_asked_for(api: httpx.Client) -> None:
    task_id = submit(api, prompt="snowy mountains at dawn, zoom in", ratio="16:9", resolution="480p", duration=1)
    assert task(api, task_id)["status"] in ("pending", "processing", "completed")

    done = api.get(f"/v1/videos/tasks/{task_id}", params={"wait": "true"}).json()  # true: up to the cap
    assert done["status"] == "completed"
    size, frames, duration = frames_of(httpx.get(done["result"]["url"], timeout=30).content)
    assert size == (854, 480) and len(frames) == 24 and duration == pytest.approx(1.0, abs=0.05)


def test_wait_blocks_until_the_video_is_ready(api: httpx.Client) -> None:
    red, blue = png((220, 30, 30)), png((30, 30, 220))
    response = api.post("/v1/videos/generations", params={"wait": 60},
                        data={"prompt": "a transition", "ratio": "4:3", "resolution": "480p", "duration": "1",
                              "functionMode": "first_last_frames"},
                        files={"image_file_1": ("red.png", red, "image/png"),
                               "image_file_2": ("blue.png", blue, "image/png")})
    answer = response.json()
    assert response.status_code == 200 and answer["status"] == "completed", answer
    assert answer["data"] == [{"url": answer["result"]["url"], "revised_prompt": "a transition"}]
    size, frames, _ = frames_of(httpx.get(answer["result"]["url"], timeout=30).content)
    assert size == (640, 480)
    assert centre(frames[0])[0] > 150 and centre(frames[-1])[2] > 150  # starts red, ends blue


@pytest.mark.parametrize(("directive", "error", "code"), [("#fail=5000", "积分不足", "5000"),
                                                          ("#fail=2003", "内容违规", "2003"),
                                                          ("#fail=77", "生成失败 (错误码: 77)", "77")])
def test_upstream_failures_show_the_contracts_error(api: httpx.Client, directive: str, error: str,
                                                    code: str) -> None:
    task_id = submit(api, model=UPSTREAM_MODEL, prompt=f"a cat {directive}")
    failed = until(api, task_id, "failed")
    assert failed == {"task_id": task_id, "status": "failed", "error": error, "error_code": code}


def test_tokens_are_required_and_tasks_are_private(video_server: ServerProcess, api: httpx.Client) -> None:
    server = video_server
    task_id = submit(api, prompt="a meadow", resolution="480p", duration=1)
    path = f"/v1/videos/tasks/{task_id}"

    missing = httpx.get(server.url + path)
    wrong = httpx.get(server.url + path, headers={"Authorization": "Bearer sk-nope"})
    basic = httpx.post(server.url + "/v1/videos/generations", json={"prompt": "x"},
                       headers={"Authorization": f"Basic {TOKEN}"})
    other = httpx.get(server.url + path, headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert (missing.status_code, missing.json()) == (401, {"error": "未提供认证令牌"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "认证令牌无效"})
    assert basic.status_code == 401
    assert (other.status_code, other.json()) == (404, NOT_FOUND)
    assert task(api, task_id)["task_id"] == task_id


def test_a_running_task_can_be_canceled_by_its_owner(video_server: ServerProcess, api: httpx.Client) -> None:
    task_id = submit(api, model=UPSTREAM_MODEL, prompt="a long one #hold")
    until(api, task_id, "processing")
    path = f"/v1/videos/tasks/{task_id}/cancel"

    stranger = httpx.post(video_server.url + path, headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert (stranger.status_code, stranger.json()) == (404, NOT_FOUND)
    canceled = api.post(path)
    assert canceled.status_code == 200
    assert canceled.json() == {"task_id": task_id, "status": "failed", "error": "任务已取消", "error_code": "CANCELED"}
    assert task(api, task_id)["status"] == "failed"
    again = api.post(path)
    assert again.status_code == 409
    assert again.json() == {"error": "the task has ended (failed); only a pending or processing task can be canceled"}


def test_without_keys_on_loopback_the_api_is_open(server: ServerProcess) -> None:
    """The conftest's server has no API keys: the dev mode, where no token is needed."""
    response = httpx.post(server.url + "/v1/videos/generations", json={"prompt": "x", "duration": 1})
    assert response.status_code == 200, response.text


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def centre(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    return np.asarray(frame[height // 3:2 * height // 3, width // 3:2 * width // 3].reshape(-1, 3).mean(axis=0))


BAD_JSON = [
    ({"prompt": "x", "model": "sora-9"}, "model", ["montage-local", UPSTREAM_MODEL]),
    ({"prompt": "x", "ratio": "5:4"}, "ratio", ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9"]),
    ({"prompt": "x", "resolution": "4k"}, "resolution", ["480p", "720p", "1080p"]),
    ({"prompt": "x", "model": UPSTREAM_MODEL, "resolution": "480p"}, "resolution", ["720p", "1080p"]),
    ({"prompt": "x", "duration": 0}, "duration", {"min": 1, "max": 60}),
    ({"prompt": "x", "model": UPSTREAM_MODEL, "duration": 30}, "duration", {"min": 4, "max": 15}),
    ({"prompt": "x", "duration": 2.5}, "duration", {"min": 1, "max": 60}),
    ({"prompt": "   "}, "prompt", None),
    ({"ratio": "16:9"}, "prompt", None),
    ({"prompt": "x", "file_paths": ["file:///etc/passwd"]}, "file_paths", None),
    ({"prompt": "x", "file_paths": ["http://a/1.png", "http://a/2.png", "http://a/3.png"]}, "file_paths", None),
    ({"prompt": "x", "functionMode": "omni_reference"}, "function_mode", ["first_last_frames"]),
]


def test_bad_input_is_refused_naming_the_field(api: httpx.Client) -> None:
    for body, field, allowed in BAD_JSON:
        response = api.post("/v1/videos/generations", json=body)
        answer = response.json()
        assert response.status_code == 400, (body, answer)
        assert answer["field"] == field and answer["error"], (body, answer)
        assert answer.get("allowed") == allowed, (body, answer)

    not_image = api.post("/v1/videos/generations", data={"prompt": "x"},
                         files={"image_file_1": ("a.png", b"not a picture", "image/png")})
    assert not_image.status_code == 400 and "not an image" in not_image.json()["error"]
    too_big = api.post("/v1/videos/generations", data={"prompt": "x"},
                       files={"image_file_1": ("big.bmp", png((1, 2, 3)) + b"\0" * (11 << 20), "image/png")})
    assert too_big.status_code == 400 and "larger than 10 MB" in too_big.json()["error"]
    not_json = api.post("/v1/videos/generations", content=b"prompt=x", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400
    for wait in ("soon", "-1"):
        bad_wait = api.get("/v1/videos/tasks/job_does_not_exist", params={"wait": wait})
        assert bad_wait.status_code == 400 and bad_wait.json()["field"] == "wait", bad_wait.text
    listed = api.get("/v1/videos/tasks/job_does_not_exist")
    assert (listed.status_code, listed.json()) == (404, NOT_FOUND)
