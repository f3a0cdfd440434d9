"""``media.music``: a valid 44.1 kHz stereo WAV of the exact length, loud enough, never clipping."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from montage.generators.builtin.media.music import MusicConfig, MusicGenerator
from montage.generators.standalone import StandaloneContext


def run_music(workdir: Path, prompt: str, duration: float, seed: int = 42, **options: Any) -> dict[str, Any]:
    ctx = StandaloneContext(workdir=workdir, stage="music", seed=seed,
                            input={"prompt": prompt, "options": {"duration_s": duration, **options}})
    outputs = MusicGenerator().run(ctx, MusicConfig())
    [artifact] = ctx.artifacts
    assert (artifact.path, artifact.role, artifact.mime) == ("music/music.wav", "music", "audio/wav")
    return outputs


def read(workdir: Path) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(str(workdir / "music" / "music.wav"), "rb") as wav:
        params = wav.getparams()
        data = np.frombuffer(wav.readframes(params.nframes), dtype="<i2").reshape(-1, params.nchannels)
    return params, data.astype(np.float64) / 32768.0


def dbfs(value: float) -> float:
    return 20 * float(np.log10(max(value, 1e-12)))


@pytest.mark.parametrize(("prompt", "options"), [
    ("A warrior dashes forward and slashes the enemy, epic orchestral music", {"style": "cinematic", "mood": "epic"}),
    ("A cyberpunk dojo in heavy rain, samurai training, epic music", {}),
    ("A fighter performs a fast combo, upbeat electronic music", {}),
    ("a calm piano piece by the sea", {}),
    ("a sad walk in the rain", {}),
    ("taiko drums in a temple", {}),
    ("a lofi chill evening", {}),
])
def test_wav_format_length_and_loudness(tmp_path: Path, prompt: str, options: dict[str, Any]) -> None:
    duration = 5.0
    outputs = run_music(tmp_path, prompt, duration, **options)
    params, audio = read(tmp_path)
    assert (params.framerate, params.nchannels, params.sampwidth) == (44100, 2, 2)
    assert params.nframes == round(duration * 44100) == outputs["samples"]
    peak = float(np.abs(audio).max())
    rms = float(np.sqrt(np.mean(audio * audio)))
    assert peak < 1.0 and dbfs(peak) <= -0.9  # limited to -1 dBFS, never clipped
    assert -20.0 < dbfs(rms) < -10.0  # about -14 dBFS RMS
    assert np.abs(audio[:, 0] - audio[:, 1]).mean() > 1e-4  # real stereo, not two copies


@pytest.mark.parametrize("duration", [0.3, 1.0, 2.5])
def test_exact_length_even_for_short_pieces(tmp_path: Path, duration: float) -> None:
    run_music(tmp_path, "epic orchestral music", duration)
    params, audio = read(tmp_path)
    assert params.nframes == round(duration * 44100)
    assert np.all(np.isfinite(audio))


def test_form_intro_body_outro(tmp_path: Path) -> None:
    run_music(tmp_path, "upbeat electronic music", 10.0)
    _, audio = read(tmp_path)
    second = 44100
    first_beat = np.sqrt(np.mean(audio[: second // 4] ** 2))
    body = np.sqrt(np.mean(audio[4 * second: 6 * second] ** 2))
    tail = np.abs(audio[-200:]).max()
    assert first_beat < body  # it builds up
    assert tail < 0.01  # and fades out, no click at the end


def test_moods_sound_different(tmp_path: Path) -> None:
    epic = run_music(tmp_path / "epic", "epic battle", 2.0)
    calm = run_music(tmp_path / "calm", "a calm and peaceful lake", 2.0)
    assert epic["mode"] == "minor" and calm["mode"] == "major"
    assert epic["tempo_bpm"] > calm["tempo_bpm"]
    assert epic["genre"] != calm["genre"]


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    prompt = "A cyberpunk dojo in heavy rain, samurai training, epic music"
    for name, seed in (("a", 42), ("b", 42), ("c", 5)):
        run_music(tmp_path / name, prompt, 3.0, seed=seed)
    first = (tmp_path / "a" / "music" / "music.wav").read_bytes()
    assert first == (tmp_path / "b" / "music" / "music.wav").read_bytes()
    assert first != (tmp_path / "c" / "music" / "music.wav").read_bytes()
