"""Text to speech: espeak-ng offline (through ctypes), or an OpenAI-compatible speech API.

espeak-ng comes from the ``espeakng-loader`` wheel, which ships ``libespeak-ng`` and its
voice data. The library keeps global state, so every call holds one process-wide lock.
Audio is mono 16-bit; :func:`pad_speech` adds breathing room and rounds each clip to a
whole number of 0.2 s steps so slide changes fall exactly on video frames at 5, 10 or 25 fps.
"""

from __future__ import annotations

import ctypes
import io
import math
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from montage import outbound
from montage.errors import GeneratorError, UrlRefused

#: Every clip lasts a whole number of these steps (a multiple of 1/5, 1/10 and 1/25 s).
AUDIO_QUANTUM_S = 0.2

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
#: espeak-ng's default volume (100) clips on loud vowels; this leaves headroom.
_VOLUME = 80
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                   ctypes.c_void_p)


class _Espeak:
    """The loaded library, initialised once, used under a lock."""

    def __init__(self) -> None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        self.sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if self.sample_rate <= 0:
            raise GeneratorError("espeak-ng failed to initialise", code="TTS_UNAVAILABLE", retryable=False)
        self._chunks: list[bytes] = []
        self._callback = _SYNTH_CALLBACK(self._collect)  # kept alive as long as the library
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def synthesize(self, text: str, voice: str, rate_wpm: int, pitch: int) -> np.ndarray:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise GeneratorError(f"espeak-ng has no voice {voice!r}", code="TTS_VOICE_MISSING",
                                 retryable=False, voice=voice)
        self.lib.espeak_SetParameter(_PARAM_RATE, rate_wpm, 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
        self.lib.espeak_SetParameter(_PARAM_VOLUME, _VOLUME, 0)
        self._chunks = []
        data = text.encode("utf-8")
        status = self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        if status != 0:
            raise GeneratorError(f"espeak-ng synthesis failed (status {status})", code="TTS_FAILED")
        return np.frombuffer(b"".join(self._chunks), dtype=np.int16).copy()


_engine: _Espeak | None = None
_engine_lock = threading.Lock()


def espeak_speak(text: str, voice: str, rate_wpm: int = 165, pitch: int = 50) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng ``voice``: (mono int16 samples, sample rate)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            try:
                _engine = _Espeak()
            except OSError as exc:
                raise GeneratorError(f"espeak-ng library could not be loaded: {exc}",
                                     code="TTS_UNAVAILABLE", retryable=False) from None
        return _engine.synthesize(text, voice, rate_wpm, pitch), _engine.sample_rate


@dataclass(frozen=True)
class SpeechApi:
    """An OpenAI-compatible ``/audio/speech`` endpoint."""

    base_url: str
    model: str
    voice: str
    api_key: str | None = None
    timeout_s: float = 120.0


def api_speak(text: str, api: SpeechApi) -> tuple[np.ndarray, int]:
    """Speak ``text`` through ``POST {base}/audio/speech``: (mono int16 samples, sample rate)."""
    body = {"model": api.model, "input": text, "voice": api.voice, "response_format": "wav"}
    headers = {"Authorization": f"Bearer {api.api_key}"} if api.api_key else {}
    try:
        with httpx.Client(transport=outbound.GuardedTransport(), timeout=api.timeout_s) as client:
            response = client.post(f"{api.base_url.rstrip('/')}/audio/speech", json=body, headers=headers)
    except (httpx.HTTPError, UrlRefused) as exc:
        raise GeneratorError(f"speech API unreachable at {api.base_url}: {exc}", code="TTS_UNAVAILABLE",
                             retryable=True) from None
    if response.status_code >= 400:
        retryable = response.status_code == 429 or response.status_code >= 500
        raise GeneratorError(f"speech API answered HTTP {response.status_code}: {response.text[:300]}",
                             code="TTS_HTTP_ERROR", retryable=retryable, status=response.status_code)
    return decode_audio(response.content)


def decode_audio(data: bytes) -> tuple[np.ndarray, int]:
    """Any audio file PyAV reads (WAV, also with streaming headers; MP3…) → mono int16."""
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.audio[0]
            rate = stream.rate or 24000
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            chunks = [f.to_ndarray().reshape(-1) for frame in container.decode(stream)
                      for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except (av.error.FFmpegError, IndexError) as exc:
        raise GeneratorError(f"speech API answer is not audio: {exc}", code="TTS_BAD_RESPONSE") from None
    samples = np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)
    return samples, rate


def pad_speech(samples: np.ndarray, rate: int, lead_s: float = 0.2, tail_s: float = 0.45,
               min_s: float = 1.0) -> np.ndarray:
    """Silence before and after, at least ``min_s`` long, rounded up to whole 0.2 s steps."""
    lead = np.zeros(int(rate * lead_s), np.int16)
    body = np.concatenate([lead, samples.astype(np.int16), np.zeros(int(rate * tail_s), np.int16)])
    quantum = round(rate * AUDIO_QUANTUM_S)
    wanted = max(len(body), int(rate * min_s))
    total = math.ceil(wanted / quantum) * quantum
    return np.concatenate([body, np.zeros(total - len(body), np.int16)])


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write mono 16-bit PCM."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read mono 16-bit PCM written by :func:`write_wav` (other layouts are mixed to mono)."""
    with wave.open(str(path), "rb") as src:
        rate, channels, width = src.getframerate(), src.getnchannels(), src.getsampwidth()
        raw = src.readframes(src.getnframes())
    if width != 2:
        raise GeneratorError(f"{path.name} is not 16-bit PCM", code="BAD_INPUT", retryable=False)
    samples = np.frombuffer(raw, dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return samples.astype(np.int16), rate


def wav_duration(path: Path) -> float:
    """Length of a WAV file in seconds."""
    with wave.open(str(path), "rb") as src:
        return src.getnframes() / float(src.getframerate())
