"""The frame loop: a scene (and/or pictures) through the camera, effects on top, into x264.

:func:`render_video` is all a caller needs: give it the prompt's brief, the size, the
duration and optional first/last pictures; it writes an MP4 (H.264, yuv420p, BT.709, with
the ``moov`` atom first so players can start before the download ends).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from montage.generators.builtin.media.palette import mix, scene_palette
from montage.generators.builtin.media.scene import HORIZON
from montage.generators.builtin.media.video import BT709, TV_RANGE
from montage.generators.builtin.video.camera import CameraPath
from montage.generators.builtin.video.compositor import LayerVideo, Planes
from montage.generators.builtin.video.effects import Effect, Fog, Rain, Snow, yuv
from montage.generators.builtin.video.frames import FrameSource, with_pictures
from montage.generators.builtin.video.layers import scene_layers
from montage.generators.builtin.video.lights import Letterbox, Light, Rays, Vignette
from montage.generators.builtin.video.words import VideoBrief

#: Called with (percent 0–100, message); may raise to stop (cancel).
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class RenderRequest:
    """What to render."""

    width: int
    height: int
    duration: float
    fps: int
    first: np.ndarray | None = None  # 8-bit RGB of exactly width × height
    last: np.ndarray | None = None
    preset: str = "ultrafast"
    crf: int = 23


@dataclass(frozen=True)
class RenderResult:
    frames: int
    prepare_s: float
    encode_s: float


class H264Writer:
    """An MP4 with one H.264 stream, fed ``VideoFrame`` objects in order.

    Encoding runs on a thread of its own (x264 and PyAV release the GIL), so the next frame is
    composed while this one is encoded; a few frames queue between them.
    """

    def __init__(self, path: Path, width: int, height: int, fps: int, preset: str, crf: int) -> None:
        self.container = av.open(str(path), mode="w", format="mp4", container_options={"movflags": "+faststart"})
        stream = self.container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": preset, "crf": str(crf)}
        context = stream.codec_context
        context.colorspace, context.color_primaries, context.color_trc = BT709, BT709, BT709
        context.color_range = TV_RANGE
        self.stream, self.count = stream, 0
        self._queue: queue.Queue[av.VideoFrame | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._encode_all, name="montage-x264", daemon=True)
        self._thread.start()

    def _encode_all(self) -> None:
        while (frame := self._queue.get()) is not None:
            if self._error is not None:
                continue  # after a failure keep taking frames, so add() never blocks
            try:
                self.container.mux(self.stream.encode(frame))
            except BaseException as exc:  # re-raised on the caller's thread
                self._error = exc

    def add(self, frame: av.VideoFrame) -> None:
        if self._error is not None:
            raise self._error
        frame.pts = self.count
        frame.colorspace, frame.color_range = BT709, TV_RANGE
        self._queue.put(frame)
        self.count += 1

    def close(self) -> None:
        """Encode what is queued, flush x264 and finish the file (raising an encoding error)."""
        self._queue.put(None)
        self._thread.join()
        try:
            if self._error is None:
                self.container.mux(self.stream.encode(None))
        finally:
            self.container.close()
        if self._error is not None:
            raise self._error


def weather_effects(brief: VideoBrief, width: int, height: int, duration: float, rng: np.random.Generator
                    ) -> list[Effect]:
    """Rain, snow or fog from the prompt, over a frame with the horizon where the painter puts it."""
    analysis = brief.analysis
    palette = scene_palette(analysis)
    horizon = round(height * HORIZON.get(analysis.setting, 0.62))
    intensity = analysis.weather_intensity
    if analysis.weather == "rain":
        light = yuv(mix((0.75, 0.8, 0.88), palette.sky_horizon, 0.3))[0]
        return [Rain(width, height, horizon, rng, intensity, light)]
    if analysis.weather == "snow":
        return [Snow(width, height, rng, intensity)]
    if analysis.weather == "fog":
        colour = yuv(mix(palette.sky_horizon, (0.85, 0.87, 0.9), 0.4))
        drift = brief.camera.direction * width * 0.02 * (1 + intensity)
        return [Fog(width, height, horizon, rng, intensity, colour, drift, duration)]
    return []


def light_effects(brief: VideoBrief, width: int, height: int, duration: float, rng: np.random.Generator,
                  sun: tuple[float, float]) -> list[Effect]:
    """Light changes, rays, vignette and bars, in the order they are drawn."""
    effects: list[Effect] = []
    light = Light(brief.lights, duration, rng)
    if light.active:
        effects.append(light)
    if "rays" in brief.lights:
        effects.append(Rays(width, height, sun, rng))
    style = brief.analysis.style
    effects.append(Vignette(width, height, 0.35 if style in ("cinematic", "noir") else 0.22))
    if style == "cinematic":
        effects.append(Letterbox(height))
    return effects


def _source(brief: VideoBrief, request: RenderRequest, rng: np.random.Generator
            ) -> tuple[FrameSource, tuple[float, float]]:
    """The frame source, and where the sun is in the frame."""
    width, height = request.width, request.height
    drift = 0.6 * brief.camera.direction
    sun = (width * 0.5, height * 0.2)
    if request.first is not None:
        return with_pictures(None, request.first, request.last, drift), sun
    camera = CameraPath(brief.camera, width, height)
    scene = scene_layers(brief.analysis, camera.layer_width, height, rng, camera.parallax)
    sun = (scene.sun[0] - (camera.layer_width - width) / 2, scene.sun[1])
    speeds = tuple(layer.parallax for layer in scene.layers)
    video = LayerVideo(scene.layers, lambda t: camera.crop(t, speeds), width, height)
    return with_pictures(video, None, request.last, drift), sun


def render_video(brief: VideoBrief, request: RenderRequest, target: Path, seed: int,
                 progress: Progress | None = None) -> RenderResult:
    """Render ``request`` for ``brief`` into ``target`` (an MP4); deterministic for ``seed``."""
    report = progress or (lambda _pct, _msg: None)
    started = time.perf_counter()
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 71])
    source, sun = _source(brief, request, rng)
    frames = max(1, round(request.duration * request.fps))
    effects = weather_effects(brief, request.width, request.height, request.duration, rng)
    effects += light_effects(brief, request.width, request.height, request.duration, rng, sun)
    prepared = time.perf_counter()
    report(10, f"scene ready; encoding {frames} frames")
    writer = H264Writer(target, request.width, request.height, request.fps, request.preset, request.crf)
    try:
        step = max(1, frames // 20)
        for index in range(frames):
            if index % step == 0:
                report(10 + 88 * index / frames, f"frame {index}/{frames}")
            frame = source.frame(index / max(1, frames - 1))
            planes = Planes.of(frame)
            seconds = index / request.fps
            for effect in effects:
                effect.apply(planes, index, seconds)
            writer.add(frame)
    finally:
        writer.close()
    return RenderResult(frames, prepared - started, time.perf_counter() - prepared)
