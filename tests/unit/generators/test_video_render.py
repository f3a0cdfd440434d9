"""Built-in video: real H.264 MP4s, probed with PyAV — size, length, frame rate, motion, pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from montage.errors import GeneratorError, JobCanceled
from montage.generators.builtin.video.generator import RenderConfig, VideoRenderGenerator
from montage.generators.builtin.video.render import RenderRequest, render_video
from montage.generators.builtin.video.spec import FPS, RATIOS, RESOLUTIONS, frame_size
from montage.generators.builtin.video.words import read_brief
from montage.generators.standalone import StandaloneContext


def probe(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        return {"codec": stream.codec_context.name, "size": (stream.codec_context.width, stream.codec_context.height),
                "rate": stream.average_rate, "pix_fmt": stream.codec_context.pix_fmt,
                "duration": container.duration / 1_000_000, "frames": frames}


def picture(width: int, height: int, colour: tuple[int, int, int]) -> np.ndarray:
    return np.asarray(Image.new("RGB", (width, height), colour))


def centre(frame: np.ndarray) -> np.ndarray:
    """Mean colour of the middle of a frame (away from the vignette)."""
    height, width = frame.shape[:2]
    return np.asarray(frame[height // 3:2 * height // 3, width // 3:2 * width // 3].reshape(-1, 3).mean(axis=0))


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("resolution", list(RESOLUTIONS))
def test_every_ratio_and_resolution_makes_an_mp4_of_that_size(tmp_path: Path, ratio: str, resolution: str) -> None:
    width, height = frame_size(ratio, resolution)
    request = RenderRequest(width, height, 0.25, FPS, first=picture(width, height, (40, 120, 200)))
    render_video(read_brief("a calm sea", 1), request, tmp_path / "v.mp4", seed=1)

    info = probe(tmp_path / "v.mp4")
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", (width, height))
    assert len(info["frames"]) == 6


@pytest.mark.parametrize(("ratio", "seconds"), [("9:16", 2.0), ("21:9", 1.0)])
def test_a_scene_video_has_the_length_and_frame_rate_asked(tmp_path: Path, ratio: str, seconds: float) -> None:
    width, height = frame_size(ratio, "480p")
    result = render_video(read_brief("misty forest at dawn, pan left", 3), RenderRequest(width, height, seconds, FPS),
                          tmp_path / "v.mp4", seed=3)

    info = probe(tmp_path / "v.mp4")
    assert info["size"] == (width, height) and info["rate"] == FPS
    assert result.frames == len(info["frames"]) == round(seconds * FPS)
    assert info["duration"] == pytest.approx(seconds, abs=0.05)


def test_the_camera_moves_and_rain_falls(tmp_path: Path) -> None:
    render_video(read_brief("city street at night in rain, camera pans right", 5), RenderRequest(640, 360, 1.0, FPS),
                 tmp_path / "v.mp4", seed=5)
    frames = probe(tmp_path / "v.mp4")["frames"]

    first, last = frames[0].astype(np.int16), frames[-1].astype(np.int16)
    assert np.abs(first - last).mean() > 3  # the view moved
    consecutive = np.abs(frames[10].astype(np.int16) - frames[11].astype(np.int16))
    assert (consecutive.max(axis=2) > 40).mean() > 0.002  # streaks moved between two frames


def test_the_same_seed_renders_the_same_video(tmp_path: Path) -> None:
    brief = read_brief("snowy mountains, zoom in", 9)
    for name in ("a.mp4", "b.mp4"):
        render_video(brief, RenderRequest(320, 180, 0.5, FPS), tmp_path / name, seed=9)
    a, b = probe(tmp_path / "a.mp4")["frames"], probe(tmp_path / "b.mp4")["frames"]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_lightning_flashes_brighten_whole_frames(tmp_path: Path) -> None:
    render_video(read_brief("a storm over the city at night", 2), RenderRequest(320, 180, 3.0, FPS),
                 tmp_path / "v.mp4", seed=2)
    brightness = [float(f.mean()) for f in probe(tmp_path / "v.mp4")["frames"]]
    assert max(brightness) > np.median(brightness) * 1.5


def test_first_and_last_frames_start_and_end_the_video(tmp_path: Path) -> None:
    red, blue = picture(320, 240, (220, 30, 30)), picture(320, 240, (30, 30, 220))
    render_video(read_brief("a transition", 1), RenderRequest(320, 240, 2.0, FPS, first=red, last=blue),
                 tmp_path / "v.mp4", seed=1)
    frames = probe(tmp_path / "v.mp4")["frames"]

    assert np.abs(centre(frames[0]) - (220, 30, 30)).max() < 12
    assert np.abs(centre(frames[-1]) - (30, 30, 220)).max() < 12
    middle = centre(frames[len(frames) // 2])
    assert 60 < middle[0] < 190 and 60 < middle[2] < 190  # halfway through the dissolve


def test_a_last_frame_alone_ends_a_generated_scene(tmp_path: Path) -> None:
    green = picture(320, 180, (20, 200, 40))
    render_video(read_brief("desert at noon", 4), RenderRequest(320, 180, 1.0, FPS, last=green),
                 tmp_path / "v.mp4", seed=4)
    frames = probe(tmp_path / "v.mp4")["frames"]
    assert np.abs(centre(frames[-1]) - (20, 200, 40)).max() < 12
    assert np.abs(centre(frames[0]) - (20, 200, 40)).max() > 40


def ctx_for(tmp_path: Path, **job: Any) -> StandaloneContext:
    base = {"model": "montage-local", "prompt": "a beach at sunset", "ratio": "4:3", "resolution": "480p",
            "duration": 1}
    return StandaloneContext(workdir=tmp_path, input={**base, **job}, stage="render", seed=7)


def test_the_stage_writes_and_declares_the_video(tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path)
    outputs = VideoRenderGenerator().run(ctx, RenderConfig())

    assert outputs["path"] == "video/video.mp4" and (outputs["width"], outputs["height"]) == (640, 480)
    assert [(a.path, a.role, a.mime) for a in ctx.artifacts] == [("video/video.mp4", "video", "video/mp4")]
    assert probe(tmp_path / "video" / "video.mp4")["size"] == (640, 480)
    assert ctx.progress_log[-1] == (100.0, "video ready")
    assert not list((tmp_path / "video").glob(".*part"))


def test_the_stage_reads_uploaded_pictures(tmp_path: Path) -> None:
    (tmp_path / "inputs").mkdir()
    Image.new("RGB", (100, 60), (250, 200, 0)).save(tmp_path / "inputs" / "first.png")
    ctx = ctx_for(tmp_path, pictures=[{"role": "first", "path": "inputs/first.png"}], ratio="16:9")
    VideoRenderGenerator().run(ctx, RenderConfig())
    first = probe(tmp_path / "video" / "video.mp4")["frames"][0]
    assert np.abs(centre(first) - (250, 200, 0)).max() < 14


def test_a_canceled_stage_leaves_no_video(tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path)
    ctx.canceled = True
    with pytest.raises(JobCanceled):
        VideoRenderGenerator().run(ctx, RenderConfig())
    assert not list(tmp_path.rglob("*.mp4")) and not list(tmp_path.rglob(".*part"))


@pytest.mark.parametrize(("job", "words"), [
    ({"ratio": "5:4"}, "ratio"),
    ({"prompt": "   "}, "blank"),
    ({"pictures": [{"role": "first", "path": "../../etc/passwd"}]}, "inputs/first"),
])
def test_bad_input_fails_the_stage_without_retry(tmp_path: Path, job: dict[str, Any], words: str) -> None:
    with pytest.raises(GeneratorError) as caught:
        VideoRenderGenerator().run(ctx_for(tmp_path, **job), RenderConfig())
    assert caught.value.code == "INVALID_INPUT" and caught.value.retryable is False
    assert words in caught.value.message
