"""Music theory for the music stage: key, mode, chord progression, form and parts.

A :class:`Plan` fixes the key (by mood, :data:`MOOD_KEYS`), the chord progression (one of
the mood's, chosen by the seed), chord length (one bar, two when slow) and the form: an
intro where only pads (and bells) play, a body with everything, and an outro that drops
the rhythm section and resolves to the tonic. Each instrument is a *part* function that
writes notes into a mono buffer (:data:`PARTS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from montage.generators.builtin.media.prompt import MusicBrief
from montage.generators.builtin.media.synth import Envelope, Voice, bell_note, piano_note, place, swell

MODES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10), "dorian": (0, 2, 3, 5, 7, 9, 10)}
#: (tonic as a MIDI note in octave 3, mode, candidate progressions as scale degrees) by mood.
MOOD_KEYS: dict[str, tuple[int, str, tuple[tuple[int, ...], ...]]] = {
    "epic": (50, "minor", ((0, 5, 2, 6), (0, 5, 3, 4))),
    "happy": (55, "major", ((0, 4, 5, 3), (0, 3, 4, 3))),
    "calm": (53, "major", ((0, 3, 0, 4), (0, 5, 3, 4))),
    "sad": (57, "minor", ((0, 3, 5, 4), (0, 5, 2, 6))),
    "tense": (49, "minor", ((0, 0, 5, 4), (0, 5, 0, 4))),
    "mysterious": (52, "dorian", ((0, 3, 0, 6), (0, 6, 3, 0))),
    "energetic": (53, "minor", ((0, 5, 6, 0), (0, 5, 3, 6))),
    "romantic": (51, "major", ((0, 2, 3, 4), (0, 5, 3, 4))),
    "neutral": (48, "major", ((0, 4, 5, 3), (0, 5, 3, 4))),
}


@dataclass(frozen=True)
class Plan:
    """The musical decisions for one piece."""

    tonic: int
    mode: str
    progression: tuple[int, ...]
    tempo: float
    duration: float
    intro_end: float
    outro_start: float
    genre: str
    mood: str

    @property
    def beat(self) -> float:
        return 60.0 / self.tempo

    @property
    def chord_s(self) -> float:
        """Length of one chord: a bar, or two bars when the tempo is slow."""
        return self.beat * (8 if self.tempo < 80 else 4)

    def degree_note(self, degree: int, octave: int = 0) -> int:
        """MIDI note of a scale degree (may exceed 6: wraps into higher octaves)."""
        scale = MODES[self.mode]
        return self.tonic + 12 * (octave + degree // 7) + scale[degree % 7]

    def chords(self) -> list[tuple[float, float, int]]:
        """(start, length, root degree) of every chord; the outro resolves to the tonic."""
        out: list[tuple[float, float, int]] = []
        start, index = 0.0, 0
        while start < self.duration:
            degree = 0 if start >= self.outro_start else self.progression[index % len(self.progression)]
            out.append((start, self.chord_s, degree))
            start += self.chord_s
            index += 1
        return out

    def triad(self, degree: int, octave: int = 0) -> list[int]:
        return [self.degree_note(degree + step, octave) for step in (0, 2, 4)]


def make_plan(brief: MusicBrief, duration: float, rng: np.random.Generator) -> Plan:
    """Key, progression, tempo and form for ``duration`` seconds of music."""
    tonic, mode, progressions = MOOD_KEYS.get(brief.mood, MOOD_KEYS["neutral"])
    progression = progressions[int(rng.integers(0, len(progressions)))]
    bar = 4 * 60.0 / brief.tempo_bpm
    edge = min(2 * bar, 0.2 * duration)
    return Plan(tonic=tonic, mode=mode, progression=progression, tempo=float(brief.tempo_bpm),
                duration=duration, intro_end=edge, outro_start=duration - edge, genre=brief.genre,
                mood=brief.mood)


PAD = Voice("soft_saw", Envelope(0.6, 1.0, 0.8, 1.2), detune_cents=14, voices=3)
STRINGS = Voice("saw", Envelope(0.45, 1.0, 0.85, 0.9), detune_cents=10, voices=3, vibrato=0.08)
BRASS = Voice("brass", Envelope(0.12, 0.5, 0.75, 0.35), detune_cents=6, voices=2, vibrato=0.05)
BASS = Voice("square", Envelope(0.005, 0.18, 0.5, 0.08))
SUB = Voice("sine", Envelope(0.01, 0.4, 0.8, 0.2))
PLUCK = Voice("saw", Envelope(0.003, 0.12, 0.0, 0.1), detune_cents=8, voices=2)
FLUTE = Voice("flute", Envelope(0.08, 0.3, 0.8, 0.25), vibrato=0.12)


def _body(plan: Plan, start: float) -> bool:
    return plan.intro_end <= start < plan.outro_start


def pads(plan: Plan, out: np.ndarray, rng: np.random.Generator, voice: Voice = PAD) -> None:
    """Sustained chords throughout, with the root doubled an octave down."""
    for start, length, degree in plan.chords():
        for note in [*plan.triad(degree, octave=1), plan.degree_note(degree)]:
            voice.play(out, note, start, length, 0.22)


def strings(plan: Plan, out: np.ndarray, rng: np.random.Generator) -> None:
    pads(plan, out, rng, STRINGS)


def bass(plan: Plan, out: np.ndarray, rng: np.random.Generator) -> None:
    """Root notes in the body: driving eighths for electronic and orchestral, long notes otherwise."""
    eighths = plan.genre in ("electronic", "orchestral", "taiko")
    voice = BASS if plan.genre == "electronic" else SUB
    step = plan.beat / 2 if eighths else plan.beat * 2
    for start, length, degree in plan.chords():
        note = plan.degree_note(degree, octave=-1)
        for k in range(round(length / step)):
            at = start + k * step
            if _body(plan, at):
                voice.play(out, note + (12 if eighths and k % 4 == 3 else 0), at, step * 0.8, 0.5)


def arp(plan: Plan, out: np.ndarray, rng: np.random.Generator) -> None:
    """Sixteenth-note arpeggio over the chord, in a seeded order."""
    order = [(0, 1, 2, 3), (0, 2, 1, 3), (3, 2, 1, 0), (0, 1, 2, 1)][int(rng.integers(0, 4))]
    for start, length, degree in plan.chords():
        tones = [*plan.triad(degree, octave=1), plan.degree_note(degree, octave=2)]
        for k in range(round(length / (plan.beat / 4))):
            at = start + k * plan.beat / 4
            if _body(plan, at):
                PLUCK.play(out, tones[order[k % 4]] + 12, at, plan.beat / 5, 0.16 if k % 4 else 0.22)


def _melody_notes(plan: Plan, rng: np.random.Generator, per_chord: int, octave: int) -> list[tuple[float, float, int]]:
    """(start, length, note): chord tones, preferring the one nearest the last note."""
    notes: list[tuple[float, float, int]] = []
    previous = plan.degree_note(0, octave)
    for start, length, degree in plan.chords():
        tones = plan.triad(degree, octave)
        for k in range(per_chord):
            at = start + k * length / per_chord
            if not _body(plan, at):
                continue
            nearest = min(tones, key=lambda n: abs(n - previous))
            previous = nearest if rng.random() < 0.6 else int(tones[int(rng.integers(0, 3))])
            notes.append((at, length / per_chord, previous))
    return notes


def brass(plan: Plan, out: np.ndarray, rng: np.random.Generator) -> None:
    """A horn line of long chord tones in the body."""
    for at, length, note in _melody_notes(plan, rng, 2, 1):
        BRASS.play(out, note, at, length * 0.92, 0.3)


def flute(plan: Plan, out: np.ndarray, rng: np.random.Generator) -> None:
    """A breathy melody in quarter and half notes."""
    for at, length, note in _melody_notes(plan, rng, 4, 2):
        if rng.random() < 0.8:
            FLUTE.play(out, note, at, length * 0.9, 0.22)


def piano(plan: Plan, out: np.ndarray, rng: np.random.Generator) -> None:
    """Broken chords in eighth notes: root, fifth, octave, third."""
    for start, length, degree in plan.chords():
        low = plan.degree_note(degree)
        pattern = [low, plan.degree_note(degree + 4), low + 12, plan.degree_note(degree + 2, 1)]
        for k in range(round(length / (plan.beat / 2))):
            piano_note(out, pattern[k % 4], start + k * plan.beat / 2, plan.beat * 0.9, 0.35)


def bells(plan: Plan, out: np.ndarray, rng: np.random.Generator) -> None:
    """Sparse high chord tones."""
    for start, length, degree in plan.chords():
        for k in range(round(length / plan.beat)):
            if rng.random() < 0.35:
                tone = plan.triad(degree, octave=2)[int(rng.integers(0, 3))]
                bell_note(out, tone, start + k * plan.beat, 0.12)


PartFn = Callable[[Plan, np.ndarray, np.random.Generator], None]
#: Instrument → (part, pan −1…1, gain, reverb send).
PARTS: dict[str, tuple[PartFn, float, float, float]] = {
    "pad": (pads, 0.0, 0.8, 0.5), "strings": (strings, -0.2, 0.8, 0.5), "bass": (bass, 0.0, 0.9, 0.05),
    "arp": (arp, 0.35, 0.55, 0.35), "brass": (brass, 0.25, 0.7, 0.4), "piano": (piano, -0.15, 0.8, 0.3),
    "bells": (bells, 0.4, 0.6, 0.6), "flute": (flute, 0.3, 0.6, 0.45),
}


def _beats(plan: Plan, offsets: tuple[float, ...]) -> list[float]:
    """Times of the given beat offsets in every bar of the body."""
    bar = plan.beat * 4
    times = [b * bar + o * plan.beat for b in range(int(plan.duration / bar) + 1) for o in offsets]
    return [t for t in times if _body(plan, t)]


def drums(plan: Plan, out: np.ndarray, hits: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """The genre's groove in the body, with a cymbal swell into it."""
    four = plan.tempo >= 110 or plan.mood in ("happy", "energetic")
    grooves: dict[str, list[tuple[str, tuple[float, ...], float]]] = {
        "electronic": [("kick", (0, 1, 2, 3) if four else (0, 2, 2.5), 0.9), ("snare", (1, 3), 0.5),
                       ("hat", (0.5, 1.5, 2.5, 3.5), 0.5), ("hat", (0, 1, 2, 3), 0.25)],
        "lofi": [("kick", (0, 2.5), 0.8), ("snare", (1, 3), 0.4), ("hat", (0, 0.55, 1, 1.55, 2, 2.55, 3, 3.55), 0.3)],
        "orchestral": [("timpani", (0, 2) if plan.mood in ("epic", "energetic", "tense") else (0,), 0.9)],
        "taiko": [("taiko", (0, 1.5, 2, 3), 0.8), ("taiko", (3.5,), 0.5)],
    }
    for sound, offsets, gain in grooves.get(plan.genre, []):
        for at in _beats(plan, offsets):
            place(out, hits[sound], at, gain)
    if plan.genre in ("electronic", "orchestral"):
        swell(out, rng, plan.intro_end, min(2.0, plan.intro_end), 0.5)
