"""``media.music``: a piece of music for the prompt's mood and style (``music/music.wav``).

44.1 kHz, 16-bit stereo, exactly ``duration_s`` long. The parts of :mod:`.compose` are
rendered one by one, panned, sent to a convolution reverb (seeded noise tail), summed and
mastered: DC removed, loudness brought to :data:`TARGET_RMS_DBFS` (RMS over the whole
piece, an approximation of −14 LUFS), peaks held under :data:`CEILING_DBFS` by a
look-ahead limiter, a short fade at both ends.
"""

from __future__ import annotations

import wave
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.media.common import STAGE_FILES, load_job, report, stage_rng
from montage.generators.builtin.media.compose import PARTS, Plan, drums, make_plan
from montage.generators.builtin.media.prompt import MusicBrief
from montage.generators.builtin.media.synth import SAMPLE_RATE, drum_hits
from montage.generators.registry import register

TARGET_RMS_DBFS = -14.0
CEILING_DBFS = -1.0
DRUMS = ("kick", "snare", "hats", "timpani", "cymbal", "taiko")
#: Reverb tail length (s) by genre.
REVERB_S = {"orchestral": 2.0, "ambient": 2.6, "taiko": 1.6, "piano": 1.4, "electronic": 1.0, "lofi": 0.8}
LIMITER_BLOCK = 256


def _fft_size(minimum: int) -> int:
    """The smallest 2^a·3^b·5^c at least ``minimum`` (FFTs of such sizes are fast)."""
    best = 1 << int(np.ceil(np.log2(max(2, minimum))))
    five = 1
    while five < best:
        three = five
        while three < best:
            size = three << max(0, int(np.ceil(np.log2(minimum / three))))
            best = min(best, size) if size >= minimum else best
            three *= 3
        five *= 5
    return best


def _reverb(send: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Stereo reverb of a mono send: FFT convolution with decaying noise (a different tail per side)."""
    length = int(seconds * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    decay = np.exp(-t * 6.9 / seconds) * np.minimum(1.0, t / 0.02)
    size = _fft_size(send.size + length)
    spectrum = np.fft.rfft(send, size)
    wet = []
    for _ in range(2):
        tail = rng.standard_normal(length) * decay
        tail /= np.sqrt(np.sum(tail * tail))
        wet.append(np.fft.irfft(spectrum * np.fft.rfft(tail, size), size)[: send.size])
    return np.stack(wet)


def render_parts(plan: Plan, instruments: tuple[str, ...], samples: int, rng: np.random.Generator,
                 on_part: Any = None) -> np.ndarray:
    """All parts mixed to stereo (2 × samples), with reverb, before mastering."""
    mix = np.zeros((2, samples))
    send = np.zeros(samples)
    for name in instruments:
        if name not in PARTS:
            continue
        part, pan, gain, wet = PARTS[name]
        mono = np.zeros(samples)
        part(plan, mono, rng)
        mix[0] += mono * gain * np.sqrt(0.5 * (1 - pan))
        mix[1] += mono * gain * np.sqrt(0.5 * (1 + pan))
        send += mono * gain * wet
        if on_part is not None:
            on_part(name)
    if any(name in DRUMS for name in instruments):
        beat = np.zeros(samples)
        drums(plan, beat, drum_hits(rng), rng)
        mix += beat * np.sqrt(0.5)
        send += beat * 0.15
    return mix + _reverb(send, REVERB_S.get(plan.genre, 1.2), rng) * 0.6


def limit(audio: np.ndarray, ceiling: float) -> np.ndarray:
    """Hold peaks under ``ceiling``: a per-block gain, starting one block early, smoothly interpolated."""
    samples = audio.shape[1]
    blocks = -(-samples // LIMITER_BLOCK)
    padded = np.zeros((2, blocks * LIMITER_BLOCK))
    padded[:, :samples] = np.abs(audio)
    peaks = padded.reshape(2, blocks, LIMITER_BLOCK).max(axis=(0, 2))
    gain = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    earlier = np.concatenate([gain[:1], gain[:-1]])
    later = np.concatenate([gain[1:], gain[-1:]])
    gain = np.minimum(gain, np.minimum(earlier, later))
    centres = (np.arange(blocks) + 0.5) * LIMITER_BLOCK
    smooth = np.interp(np.arange(samples), centres, gain)
    return np.clip(audio * smooth, -ceiling, ceiling)


def master(mix: np.ndarray) -> np.ndarray:
    """DC removed, RMS brought to the target, peaks limited, 10 ms fade-in and a fade-out."""
    audio = mix - mix.mean(axis=1, keepdims=True)
    target = 10 ** (TARGET_RMS_DBFS / 20)
    ceiling = 10 ** (CEILING_DBFS / 20)
    for _ in range(3):  # limiting lowers the RMS a little; converge on the target
        rms = float(np.sqrt(np.mean(audio * audio)))
        if rms > 0:
            audio = audio * (target / rms)
        audio = limit(audio, ceiling)
    samples = audio.shape[1]
    fade_in = min(samples, int(0.01 * SAMPLE_RATE))
    fade_out = min(samples, int(min(1.5, samples / SAMPLE_RATE * 0.15) * SAMPLE_RATE))
    audio[:, :fade_in] *= np.linspace(0.0, 1.0, fade_in)
    audio[:, samples - fade_out:] *= np.linspace(1.0, 0.0, fade_out) ** 2
    return audio


def write_wav(path: str, audio: np.ndarray) -> None:
    """16-bit PCM stereo WAV at 44.1 kHz from float channels in −1…1."""
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(path, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(np.ascontiguousarray(pcm.T).tobytes())


def compose_music(brief: MusicBrief, duration: float, rng: np.random.Generator,
                  on_part: Any = None) -> tuple[np.ndarray, Plan]:
    """The finished, mastered piece (2 × samples floats) and the plan it followed."""
    plan = make_plan(brief, duration, rng)
    samples = round(duration * SAMPLE_RATE)
    return master(render_parts(plan, brief.instruments, samples, rng, on_part)), plan


class MusicConfig(GeneratorConfig):
    """Nothing to set yet: the music follows the prompt."""

    tempo_bpm: int | None = Field(None, ge=40, le=200, description="Override the tempo read from the prompt.")


@register
class MusicGenerator:
    """Writes ``music/music.wav``: pads, bass, lead and drums in the prompt's mood and genre."""

    name: ClassVar[str] = "media.music"
    Config: ClassVar[type[GeneratorConfig]] = MusicConfig

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        cfg = config if isinstance(config, MusicConfig) else MusicConfig.model_validate(config or {})
        job, analysis = load_job(ctx)
        brief = analysis.music
        if cfg.tempo_bpm is not None:
            brief = MusicBrief(brief.mood, brief.genre, cfg.tempo_bpm, brief.instruments)
        report(ctx, 5, f"Composing {brief.mood} {brief.genre} music at {brief.tempo_bpm} bpm")
        parts = [name for name in brief.instruments if name in PARTS]
        done: list[str] = []

        def on_part(name: str) -> None:
            done.append(name)
            report(ctx, 10 + 70 * len(done) / max(1, len(parts)), f"{name} rendered")

        audio, plan = compose_music(brief, job.options.duration_s, stage_rng(ctx, "music"), on_part)
        relpath = STAGE_FILES["music"]
        write_wav(str(ctx.path(relpath)), audio)
        ctx.add_artifact(relpath, role="music", mime="audio/wav")
        peak = float(np.abs(audio).max())
        rms = float(np.sqrt(np.mean(audio * audio)))
        ctx.log(f"music: key {plan.tonic} {plan.mode}, progression {plan.progression}, "
                f"peak {20 * np.log10(max(peak, 1e-9)):.1f} dBFS, rms {20 * np.log10(max(rms, 1e-9)):.1f} dBFS")
        report(ctx, 100, "music ready")
        return {"path": relpath, "sample_rate": SAMPLE_RATE, "channels": 2, "duration_s": job.options.duration_s,
                "samples": int(audio.shape[1]), "tempo_bpm": brief.tempo_bpm, "genre": brief.genre,
                "mood": brief.mood, "mode": plan.mode, "progression": list(plan.progression),
                "instruments": list(brief.instruments)}
