"""Instruments for the music stage: wavetable voices, envelopes and one-shot drum hits.

Everything renders mono float64 at :data:`SAMPLE_RATE` into a caller's buffer, so a
part is a loop of cheap vectorised note renders. Wavetables are band-limited single
cycles (a handful of harmonics), so notes need no filtering and never alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SAMPLE_RATE = 44100
TABLE_SIZE = 4096


#: Timbres by name: amplitudes of harmonics 1, 2, 3, … of one cycle.
TIMBRES: dict[str, tuple[float, ...]] = {
    "sine": (1.0,),
    "soft_saw": tuple(1.0 / n * 0.85 ** n for n in range(1, 20)),
    "saw": tuple(1.0 / n for n in range(1, 28)),
    "square": tuple((1.0 / n if n % 2 else 0.0) for n in range(1, 20)),
    "organ": (1.0, 0.5, 0.0, 0.25, 0.0, 0.12),
    "brass": (1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.12, 0.08),
    "flute": (1.0, 0.2, 0.06),
}
#: Highest partial a wavetable may hold (Hz): below Nyquist with room to spare.
PARTIAL_LIMIT_HZ = 18000.0


@lru_cache(maxsize=256)
def band_limited(timbre: str, harmonics: int) -> np.ndarray:
    """One cycle of ``timbre`` with at most ``harmonics`` harmonics, peak 1."""
    phase = np.arange(TABLE_SIZE) / TABLE_SIZE * 2 * np.pi
    amplitudes = TIMBRES[timbre][: max(1, harmonics)]
    wave = np.zeros(TABLE_SIZE)
    for n, amplitude in enumerate(amplitudes, start=1):
        wave += amplitude * np.sin(n * phase)
    return wave / np.abs(wave).max()


def table_for(timbre: str, hz: float) -> np.ndarray:
    """The wavetable of ``timbre`` for a note at ``hz``, with no partial above :data:`PARTIAL_LIMIT_HZ`."""
    return band_limited(timbre, min(len(TIMBRES[timbre]), int(PARTIAL_LIMIT_HZ / max(hz, 1.0))))


def midi_hz(note: float) -> float:
    """Frequency of a MIDI note number (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


@dataclass(frozen=True)
class Envelope:
    """Attack, decay, sustain level and release, in seconds (sustain 0–1)."""

    attack: float
    decay: float
    sustain: float
    release: float

    def render(self, length: float) -> np.ndarray:
        """Amplitude over a note held ``length`` seconds plus its release."""
        held = max(1, int(length * SAMPLE_RATE))
        t = np.arange(held + int(self.release * SAMPLE_RATE)) / SAMPLE_RATE
        attack = np.clip(t / max(self.attack, 1e-4), 0.0, 1.0)
        decay = self.sustain + (1.0 - self.sustain) * np.exp(-np.maximum(t - self.attack, 0) / max(self.decay, 1e-4))
        level = attack * decay
        release_t = np.maximum(t - length, 0.0)
        end_level = level[held - 1]
        level[held:] = end_level * np.exp(-release_t[held:] / max(self.release / 4, 1e-4))
        return level


@dataclass(frozen=True)
class Voice:
    """A playable sound: a wavetable, an envelope, detuned copies and vibrato."""

    table: str
    envelope: Envelope
    detune_cents: float = 0.0
    voices: int = 1
    vibrato: float = 0.0  # depth in semitones, at 5 Hz

    def play(self, out: np.ndarray, note: float, start: float, length: float, gain: float) -> None:
        """Add a note (MIDI number) starting at ``start`` seconds into ``out``."""
        first = int(start * SAMPLE_RATE)
        if first >= out.size:
            return
        level = self.envelope.render(length)[: out.size - first]
        t = np.arange(level.size) / SAMPLE_RATE
        table = table_for(self.table, midi_hz(note + self.detune_cents / 100.0) * 2.0 ** (self.vibrato / 12.0))
        wobble = None
        if self.vibrato:
            depth = self.vibrato * np.sin(2 * np.pi * 5.0 * t) * np.minimum(1.0, t * 2)
            wobble = 2.0 ** (depth / 12.0)
        sound = np.zeros(level.size)
        for voice in range(self.voices):
            spread = (voice - (self.voices - 1) / 2) * self.detune_cents / 100.0
            freq = midi_hz(note + spread)
            phase = np.cumsum(freq * wobble) / SAMPLE_RATE if wobble is not None else freq * t
            index = ((phase + voice * 0.37) * TABLE_SIZE).astype(np.int64) & (TABLE_SIZE - 1)
            sound += table[index]
        out[first:first + level.size] += sound * level * (gain / self.voices)


def piano_note(out: np.ndarray, note: float, start: float, length: float, gain: float) -> None:
    """A struck string: harmonics that decay faster the higher they are."""
    first = int(start * SAMPLE_RATE)
    if first >= out.size:
        return
    size = min(out.size - first, int((length + 0.8) * SAMPLE_RATE))
    t = np.arange(size) / SAMPLE_RATE
    base = midi_hz(note)
    sound = np.zeros(size)
    for n in range(1, 7):
        if base * n * 1.001 > SAMPLE_RATE / 2.2:
            break
        sound += np.sin(2 * np.pi * base * n * 1.0008 ** n * t) * np.exp(-t * (1.2 + 1.4 * n)) / n
    damper = np.where(t < length, 1.0, np.exp(-(t - length) / 0.12))
    out[first:first + size] += sound * damper * np.minimum(1.0, t / 0.004) * gain


def bell_note(out: np.ndarray, note: float, start: float, gain: float) -> None:
    """A bell: inharmonic partials ringing out."""
    first = int(start * SAMPLE_RATE)
    size = min(out.size - first, int(2.5 * SAMPLE_RATE))
    if size <= 0:
        return
    t = np.arange(size) / SAMPLE_RATE
    base = midi_hz(note)
    sound = sum(amp * np.sin(2 * np.pi * base * ratio * t) * np.exp(-t * decay)
                for ratio, amp, decay in ((1.0, 1.0, 1.6), (2.76, 0.45, 2.8), (5.4, 0.25, 4.5), (8.9, 0.1, 7.0)))
    out[first:first + size] += np.asarray(sound) * np.minimum(1.0, t / 0.002) * gain


def drum_hits(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One pre-rendered sample per drum sound (seeded noise)."""
    def t(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE

    def noise(seconds: float) -> np.ndarray:
        return rng.standard_normal(int(seconds * SAMPLE_RATE))

    tk, ts, th, tt = t(0.45), t(0.25), t(0.08), t(1.2)
    kick_f = 45.0 + 110.0 * np.exp(-tk / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(kick_f) / SAMPLE_RATE) * np.exp(-tk / 0.16)
    snare = np.diff(noise(0.25), prepend=0.0) * 0.5 * np.exp(-ts / 0.07)
    snare += np.sin(2 * np.pi * 190 * ts) * np.exp(-ts / 0.05)
    hat = np.diff(np.diff(noise(0.08), prepend=0.0), prepend=0.0) * 0.25 * np.exp(-th / 0.018)
    boom_f = 38.0 + 30.0 * np.exp(-tt / 0.15)
    timpani = np.sin(2 * np.pi * np.cumsum(boom_f) / SAMPLE_RATE) * np.exp(-tt / 0.45)
    timpani += np.convolve(noise(1.2), np.ones(40) / 40, "same") * 0.3 * np.exp(-tt / 0.05)
    taiko_f = 55.0 + 40.0 * np.exp(-tt / 0.05)
    taiko = np.sin(2 * np.pi * np.cumsum(taiko_f) / SAMPLE_RATE) * np.exp(-tt / 0.3)
    taiko += np.convolve(noise(1.2), np.ones(12) / 12, "same") * 0.6 * np.exp(-tt / 0.03)
    return {"kick": kick, "snare": snare, "hat": hat, "timpani": timpani, "taiko": taiko}


def place(out: np.ndarray, sample: np.ndarray, start: float, gain: float) -> None:
    """Add a one-shot ``sample`` at ``start`` seconds."""
    first = int(start * SAMPLE_RATE)
    if first >= out.size:
        return
    size = min(sample.size, out.size - first)
    out[first:first + size] += sample[:size] * gain


def swell(out: np.ndarray, rng: np.random.Generator, end: float, seconds: float, gain: float) -> None:
    """A reversed cymbal rising into ``end`` seconds, then a crash ringing out."""
    rise_start = max(0.0, end - seconds)
    first, peak = int(rise_start * SAMPLE_RATE), int(end * SAMPLE_RATE)
    tail = min(out.size, peak + int(2.5 * SAMPLE_RATE))
    if peak >= out.size or peak <= first:
        return
    hiss = np.diff(rng.standard_normal(tail - first + 1))
    shape = np.ones(tail - first)
    shape[: peak - first] = np.linspace(0.0, 1.0, peak - first) ** 3
    shape[peak - first:] = np.exp(-np.arange(tail - peak) / SAMPLE_RATE / 0.7)
    out[first:tail] += hiss * shape * gain * 0.3
