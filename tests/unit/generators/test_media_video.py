"""``media.preview`` and ``media.export``: H.264 + AAC MP4s of the right length and size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from montage.errors import GeneratorError, JobCanceled
from montage.generators.builtin.media.bvh import read_bvh
from montage.generators.builtin.media.figure import draw_figure, figure_box, project
from montage.generators.builtin.media.motion import MotionConfig, MotionGenerator
from montage.generators.builtin.media.music import MusicConfig, MusicGenerator
from montage.generators.builtin.media.prompt import analyse_prompt
from montage.generators.builtin.media.scene import SceneConfig, SceneGenerator
from montage.generators.builtin.media.video_stages import (
    ExportConfig,
    ExportGenerator,
    PreviewConfig,
    PreviewGenerator,
    figure_style,
)
from montage.generators.standalone import StandaloneContext

PROMPT = "A cyberpunk dojo in heavy rain, samurai training, epic music"
DURATION = 2.0


def job_input(duration: float = DURATION) -> dict[str, Any]:
    return {"prompt": PROMPT, "options": {"targets": ["scene", "motion", "music", "preview", "export"],
                                          "duration_s": duration}}


def run_stages(workdir: Path, stages: list[str], duration: float = DURATION) -> dict[str, dict[str, Any]]:
    """Run earlier stages the way the engine would: same folder, outputs passed along."""
    makers = {"scene": (SceneGenerator(), SceneConfig(width=320, height=180)),
              "motion": (MotionGenerator(), MotionConfig()), "music": (MusicGenerator(), MusicConfig())}
    outputs: dict[str, dict[str, Any]] = {}
    for stage in stages:
        generator, config = makers[stage]
        ctx = StandaloneContext(workdir=workdir, input=job_input(duration), outputs=dict(outputs), stage=stage)
        outputs[stage] = generator.run(ctx, config)
    return outputs


def probe(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        return {"video": video.codec_context.name, "audio": audio.codec_context.name,
                "size": (video.codec_context.width, video.codec_context.height),
                "rate": audio.codec_context.sample_rate, "channels": audio.codec_context.channels,
                "duration": container.duration / 1_000_000, "frames": frames}


def test_preview_has_h264_and_aac_of_the_job_length(tmp_path: Path) -> None:
    outputs = run_stages(tmp_path, ["scene", "motion", "music"])
    ctx = StandaloneContext(workdir=tmp_path, input=job_input(), outputs=outputs, stage="preview")
    result = PreviewGenerator().run(ctx, PreviewConfig())
    info = probe(tmp_path / "preview" / "preview.mp4")
    assert (info["video"], info["audio"]) == ("h264", "aac")
    assert info["size"] == (640, 360)
    assert (info["rate"], info["channels"]) == (44100, 2)
    assert info["duration"] == pytest.approx(DURATION, abs=0.1)
    assert len(info["frames"]) == round(DURATION * 24) == result["frames"]
    assert result["has_scene"] and result["has_motion"] and result["has_music"]
    [artifact] = ctx.artifacts
    assert (artifact.path, artifact.role, artifact.mime) == ("preview/preview.mp4", "preview", "video/mp4")
    # the skeleton moves over the still backdrop: consecutive frames differ, but only locally
    first, later = info["frames"][0].astype(int), info["frames"][24].astype(int)
    changed = (np.abs(first - later).max(axis=2) > 40).mean()
    assert 0.001 < changed < 0.25


def test_export_is_full_scene_size(tmp_path: Path) -> None:
    outputs = run_stages(tmp_path, ["scene", "motion", "music"])
    ctx = StandaloneContext(workdir=tmp_path, input=job_input(), outputs=outputs, stage="export")
    result = ExportGenerator().run(ctx, ExportConfig())
    info = probe(tmp_path / "export" / "export.mp4")
    assert (info["video"], info["audio"]) == ("h264", "aac")
    assert info["size"] == (320, 180) == (result["width"], result["height"])
    assert info["duration"] == pytest.approx(DURATION, abs=0.1)
    assert len(info["frames"]) == round(DURATION * 24)


def test_motion_only_uses_a_plain_backdrop_and_a_silent_track(tmp_path: Path) -> None:
    outputs = run_stages(tmp_path, ["motion"])
    ctx = StandaloneContext(workdir=tmp_path, input=job_input(), outputs=outputs, stage="preview")
    result = PreviewGenerator().run(ctx, PreviewConfig(width=320, height=180))
    assert not result["has_scene"] and result["has_motion"] and not result["has_music"]
    info = probe(tmp_path / "preview" / "preview.mp4")
    assert info["audio"] == "aac" and info["size"] == (320, 180)
    assert info["duration"] == pytest.approx(DURATION, abs=0.1)


def test_a_broken_bvh_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "motion").mkdir()
    (tmp_path / "motion" / "motion.bvh").write_text("HIERARCHY\nROOT Hips\n{\n")
    ctx = StandaloneContext(workdir=tmp_path, input=job_input(), stage="preview")
    with pytest.raises(GeneratorError) as info:
        PreviewGenerator().run(ctx, PreviewConfig(width=160, height=90))
    assert (info.value.code, info.value.retryable) == ("MOTION_INVALID", False)


class CancelAfter(StandaloneContext):
    """Cancels the job after a number of progress reports."""

    reports_left: int = 4

    def progress(self, percent: float, message: str = "") -> None:
        super().progress(percent, message)
        self.reports_left -= 1
        if self.reports_left <= 0:
            self.canceled = True


def test_cancel_mid_encode_leaves_no_file(tmp_path: Path) -> None:
    outputs = run_stages(tmp_path, ["motion"])
    ctx = CancelAfter(workdir=tmp_path, input=job_input(), outputs=outputs, stage="preview")
    with pytest.raises(JobCanceled):
        PreviewGenerator().run(ctx, PreviewConfig(width=160, height=90))
    assert list((tmp_path / "preview").iterdir()) == []
    assert ctx.artifacts == []


def test_frames_show_the_figure_of_their_own_time_and_no_trails(tmp_path: Path) -> None:
    outputs = run_stages(tmp_path, ["scene", "motion"])
    ctx = StandaloneContext(workdir=tmp_path, input=job_input(), outputs=outputs, stage="preview")
    PreviewGenerator().run(ctx, PreviewConfig(width=320, height=180, qp=12))
    decoded = probe(tmp_path / "preview" / "preview.mp4")["frames"]
    with Image.open(tmp_path / "scene" / "scene.png") as image:
        backdrop = np.asarray(image.convert("RGB"))
    figure = project(read_bvh(tmp_path / "motion" / "motion.bvh"), 320, 180, outputs["scene"]["floor"],
                     len(decoded), 24)
    style = figure_style(analyse_prompt(PROMPT))

    def composed(index: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        expected = backdrop.copy()
        x0, y0, x1, y1 = figure_box(figure, index, 320, 180)
        expected[y0:y1, x0:x1] = draw_figure(backdrop[y0:y1, x0:x1], figure, index, (x0, y0), style)
        return expected.astype(int), (x0, y0, x1, y1)

    for index, other in ((0, 24), (17, 40), (len(decoded) - 1, 16)):
        expected, (x0, y0, x1, y1) = composed(index)
        error = np.abs(decoded[index].astype(int) - expected).mean(axis=2)
        box = np.zeros(error.shape, bool)
        box[y0:y1, x0:x1] = True
        assert error[~box].mean() < 4.0  # only the backdrop outside this frame's box: no trails
        assert error[box].mean() < 8.0  # and this frame's figure, as drawn (4:2:0 blurs its colours)
        wrong = np.abs(decoded[index].astype(int) - composed(other)[0]).mean(axis=2)
        assert wrong[box].mean() > error[box].mean() * 1.5  # not some other frame's pose
