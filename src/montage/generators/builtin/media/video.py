"""Composing and encoding the preview and export videos (H.264 + AAC in MP4, via PyAV).

Speed comes from never converting a whole frame per frame: the backdrop is converted to
YUV 4:2:0 once; for each frame only the even-aligned box around the figure is drawn (with
Pillow) and converted, then written into a working copy of the backdrop's planes (where
the previous frame's box is first restored), which go to x264 as they are (no swscale). Conversion is BT.709
limited range, and the stream is tagged so.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

from montage.generators.builtin.media.figure import FigureStyle, ProjectedFigure, draw_figure, figure_box

SAMPLE_RATE = 44100
#: FFmpeg enum values for BT.709 (colour space, primaries, transfer) and the limited ("tv") range.
BT709, TV_RANGE = 1, 1
#: RGB → (Y, Cb, Cr), BT.709 limited range, as Pillow's 12-value conversion matrix (rows with offsets).
_BT709_MATRIX = (
    0.2126 * 219 / 255, 0.7152 * 219 / 255, 0.0722 * 219 / 255, 16.0,
    -0.1146 * 224 / 255, -0.3854 * 224 / 255, 0.5 * 224 / 255, 128.0,
    0.5 * 224 / 255, -0.4542 * 224 / 255, -0.0458 * 224 / 255, 128.0,
)


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Y, U, V) planes, 8-bit, of an even-sized 8-bit RGB image (chroma averaged over 2×2 blocks).

    Done by Pillow in C (a colour matrix, then a 2× box reduction for chroma): a crop at a
    time per frame, so it must be cheap. Blocks start at even coordinates, so a crop taken at
    even offsets converts exactly as the same pixels would in the whole frame.
    """
    ycc = Image.fromarray(rgb).convert("RGB", matrix=_BT709_MATRIX)
    full = np.asarray(ycc)
    half = np.asarray(ycc.reduce(2))
    return np.ascontiguousarray(full[..., 0]), np.ascontiguousarray(half[..., 1]), np.ascontiguousarray(half[..., 2])


class PlanarFrame:
    """The Y, U and V planes of a yuv420p picture, as 2-D arrays (numpy's or views on a VideoFrame's)."""

    def __init__(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        self.y, self.u, self.v = y, u, v

    @classmethod
    def from_rgb(cls, rgb: np.ndarray) -> PlanarFrame:
        """The picture of an even-sized RGB image."""
        return cls(*rgb_to_yuv420(rgb))

    @classmethod
    def over(cls, frame: av.VideoFrame) -> PlanarFrame:
        """Writable views on a yuv420p ``VideoFrame``'s planes (rows may be padded: views skip it)."""
        views = []
        for plane, (width, height) in zip(frame.planes, _plane_sizes(frame.width, frame.height), strict=True):
            rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
            views.append(rows[:height, :width])
        return cls(*views)

    def fill(self, source: PlanarFrame) -> None:
        """Copy all of ``source`` in."""
        self.y[:], self.u[:], self.v[:] = source.y, source.u, source.v

    def restore(self, source: PlanarFrame, x0: int, y0: int, x1: int, y1: int) -> None:
        """Copy the even-aligned box (x0, y0)–(x1, y1) back from ``source``."""
        self.y[y0:y1, x0:x1] = source.y[y0:y1, x0:x1]
        self.u[y0 // 2:y1 // 2, x0 // 2:x1 // 2] = source.u[y0 // 2:y1 // 2, x0 // 2:x1 // 2]
        self.v[y0 // 2:y1 // 2, x0 // 2:x1 // 2] = source.v[y0 // 2:y1 // 2, x0 // 2:x1 // 2]

    def put(self, rgb: np.ndarray, x0: int, y0: int) -> None:
        """Overwrite the region at even (x0, y0) with an even-sized RGB patch."""
        y, u, v = rgb_to_yuv420(rgb)
        h, w = y.shape
        self.y[y0:y0 + h, x0:x0 + w] = y
        self.u[y0 // 2:(y0 + h) // 2, x0 // 2:(x0 + w) // 2] = u
        self.v[y0 // 2:(y0 + h) // 2, x0 // 2:(x0 + w) // 2] = v


def _plane_sizes(width: int, height: int) -> list[tuple[int, int]]:
    return [(width, height), (width // 2, height // 2), (width // 2, height // 2)]


class FrameComposer:
    """Frames of a video: the backdrop with the figure of each frame drawn over it.

    There is one ``VideoFrame``, updated in place: the previous frame's figure box is
    restored from the backdrop, the new one drawn. That is safe because x264 copies a
    picture into its own buffers while ``encode`` runs (and PyAV drains the encoder on every
    call), and it saves a full-frame copy per frame.
    """

    def __init__(self, backdrop: np.ndarray, figure: ProjectedFigure | None, style: FigureStyle) -> None:
        height, width = backdrop.shape[:2]
        self.backdrop = backdrop
        self.base = PlanarFrame.from_rgb(backdrop)
        self.video_frame = av.VideoFrame(width, height, "yuv420p")
        self.work = PlanarFrame.over(self.video_frame)
        self.work.fill(self.base)
        self.dirty: tuple[int, int, int, int] | None = None
        self.figure = figure
        self.style = style

    def frame(self, index: int) -> av.VideoFrame:
        """The picture of frame ``index`` (the same object each call, valid until the next)."""
        if self.figure is None:
            return self.video_frame
        if self.dirty is not None:  # undo the previous frame's figure
            self.work.restore(self.base, *self.dirty)
            self.dirty = None
        height, width = self.backdrop.shape[:2]
        x0, y0, x1, y1 = figure_box(self.figure, index, width, height)
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            crop = self.backdrop[y0:y1, x0:x1]
            self.work.put(draw_figure(crop, self.figure, index, (x0, y0), self.style), x0, y0)
            self.dirty = (x0, y0, x1, y1)
        return self.video_frame


def read_wav(path: Path) -> np.ndarray:
    """A 16-bit PCM WAV file as float32 channels × samples in -1…1 (resampling not supported)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getframerate() != SAMPLE_RATE:
            raise ValueError("expected 16-bit PCM at 44.1 kHz")
        channels = wav.getnchannels()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, channels)
    stereo = data if channels == 2 else np.repeat(data[:, :1], 2, axis=1)
    return np.ascontiguousarray(stereo.T.astype(np.float32) / 32768.0)


@dataclass(frozen=True)
class X264Settings:
    """Encoder settings: speed preset, constant quantizer, and how much finer keyframes are.

    Constant QP with fine keyframes suits these videos: the backdrop never changes, so once
    a keyframe carries it well, every later frame is mostly skip blocks and only the figure
    is coded. (With CRF, x264 keeps re-coding the backdrop's grain: twice the time, more bytes.)
    """

    preset: str = "ultrafast"
    qp: int = 22
    keyframe_ratio: float = 4.0

    def options(self) -> dict[str, object]:
        return {"preset": self.preset, "qp": str(self.qp), "x264-params": f"ipratio={self.keyframe_ratio:g}"}


class Mp4Writer:
    """An MP4 file with one H.264 video stream and one AAC stereo stream, fed in time order."""

    def __init__(self, path: Path, width: int, height: int, fps: int, audio: np.ndarray,
                 x264: X264Settings) -> None:
        self.container = av.open(str(path), mode="w", format="mp4", container_options={"movflags": "+faststart"})
        video = self.container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = x264.options()
        context = video.codec_context
        context.colorspace, context.color_primaries, context.color_trc = BT709, BT709, BT709
        context.color_range = TV_RANGE
        self.video = video
        self.sound = self.container.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
        self.sound.options = {"aac_coder": "fast"}
        self.sound.bit_rate = 160_000
        self.audio, self.audio_pos, self.fps, self.count = audio, 0, fps, 0

    def add(self, frame: av.VideoFrame) -> None:
        """Encode the next video frame, and the audio up to the end of it."""
        frame.pts = self.count
        frame.colorspace, frame.color_range = BT709, TV_RANGE
        self.container.mux(self.video.encode(frame))
        self.count += 1
        if self.count % self.fps == 1:  # audio in one-second chunks, a second ahead of the picture
            self._audio_until(round((self.count / self.fps + 1.0) * SAMPLE_RATE))

    def _audio_until(self, sample: int) -> None:
        end = min(sample, self.audio.shape[1])
        if end <= self.audio_pos:
            return
        chunk = np.ascontiguousarray(self.audio[:, self.audio_pos:end])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = SAMPLE_RATE, self.audio_pos
        self.container.mux(self.sound.encode(frame))
        self.audio_pos = end

    def close(self) -> None:
        """Flush both encoders and finish the file."""
        self._audio_until(self.audio.shape[1])
        self.container.mux(self.video.encode(None))
        self.container.mux(self.sound.encode(None))
        self.container.close()
