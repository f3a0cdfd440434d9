"""Procedural motion clips, one per action, as curves of a few named pose parameters.

A clip maps local time (seconds, one array for all frames) to a dict of parameter
curves; :mod:`.motion` blends the clips of a timeline and turns parameters into joint
rotations (:func:`.motion.pose_rotations`). Parameters (degrees unless said otherwise):

``lean`` ``twist`` ``bend`` (torso), ``look`` (head pitch), ``yaw`` (facing, cumulative),
``roll`` (hips sideways), ``l_flex``/``r_flex`` (arm raised forward from hanging),
``l_abd``/``r_abd`` (arm raised sideways), ``l_elbow``/``r_elbow``, ``l_hip``/``r_hip``
(thigh forward), ``l_knee``/``r_knee``, ``lift`` (cm, extra hip height) and ``speed``
(cm/s forward). Cyclic clips (walk, run, dance, idle, stance) are formulas of a phase;
one-shot clips (strikes, jump, bow, spin) are keyframes eased with smoothstep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Curves = dict[str, np.ndarray]
Pose = dict[str, float]

REST: Pose = {"lean": 2.0, "twist": 0.0, "bend": 0.0, "look": 0.0, "yaw": 0.0, "roll": 0.0,
              "l_flex": 4.0, "l_abd": 8.0, "l_elbow": 12.0, "r_flex": 4.0, "r_abd": 8.0, "r_elbow": 12.0,
              "l_hip": 2.0, "l_knee": 4.0, "r_hip": 2.0, "r_knee": 4.0, "lift": 0.0, "speed": 0.0}
#: A fighting stance: knees bent, guard up.
STANCE: Pose = {**REST, "lean": 10.0, "l_flex": 55.0, "l_abd": 14.0, "l_elbow": 115.0, "r_flex": 45.0,
                "r_abd": 14.0, "r_elbow": 120.0, "l_hip": 28.0, "l_knee": 38.0, "r_hip": 8.0, "r_knee": 30.0,
                "twist": 12.0}
#: Guard for sword work: both hands together in front.
SWORD_GUARD: Pose = {**STANCE, "l_flex": 50.0, "r_flex": 50.0, "l_elbow": 65.0, "r_elbow": 65.0,
                     "l_abd": 0.0, "r_abd": 0.0, "twist": 8.0}
MIRRORED = {"l_": "r_", "r_": "l_"}
#: Parameters whose sign flips in a mirrored clip.
SIGNED = ("twist", "bend", "roll", "yaw")


def mirror(curves: Curves) -> Curves:
    """The same movement done with the other side of the body."""
    out: Curves = {}
    for name, values in curves.items():
        swapped = MIRRORED.get(name[:2], name[:2]) + name[2:] if name[:2] in MIRRORED else name
        out[swapped] = -values if name in SIGNED else values
    return out


def constant(pose: Pose, frames: int) -> Curves:
    """Every parameter of ``pose`` held for ``frames`` frames."""
    return {name: np.full(frames, value, dtype=np.float64) for name, value in pose.items()}


def keyframes(t: np.ndarray, duration: float, keys: list[tuple[float, Pose]]) -> Curves:
    """Curves through ``keys`` (fraction of ``duration``, pose), eased with smoothstep, held at the ends."""
    fractions = np.asarray([k[0] for k in keys])
    u = np.clip(t / duration, 0.0, 1.0)
    segment = np.clip(np.searchsorted(fractions, u, side="right") - 1, 0, len(keys) - 2)
    start, end = fractions[segment], fractions[segment + 1]
    f = np.clip((u - start) / np.maximum(end - start, 1e-9), 0.0, 1.0)
    ease = f * f * (3.0 - 2.0 * f)
    curves: Curves = {}
    for name in keys[0][1]:
        values = np.asarray([pose[name] for _, pose in keys])
        curves[name] = values[segment] + (values[segment + 1] - values[segment]) * ease
    return curves


def idle(t: np.ndarray, tempo: float) -> Curves:
    """Standing and breathing, shifting weight, glancing around."""
    curves = constant(REST, t.size)
    curves["lean"] = 2.0 + 1.5 * np.sin(2 * np.pi * t / 4.0)
    curves["roll"] = 2.0 * np.sin(2 * np.pi * t / 6.5)
    curves["twist"] = 6.0 * np.sin(2 * np.pi * t / 9.0)
    curves["l_elbow"] = 12.0 + 4.0 * np.sin(2 * np.pi * t / 4.0)
    curves["r_elbow"] = 12.0 + 4.0 * np.sin(2 * np.pi * t / 4.0 + 0.5)
    return curves


def stance(t: np.ndarray, tempo: float) -> Curves:
    """Fighting stance, bouncing lightly on the balls of the feet."""
    curves = constant(STANCE, t.size)
    bounce = np.sin(2 * np.pi * t * 1.6)
    curves["lift"] = 1.5 * bounce
    curves["l_knee"] = STANCE["l_knee"] - 4.0 * bounce
    curves["r_knee"] = STANCE["r_knee"] - 4.0 * bounce
    return curves


def _gait(t: np.ndarray, period: float, hip: float, knee: float, arm: float) -> Curves:
    """A walking or running cycle: legs in antiphase, arms swinging against the legs."""
    phase = 2 * np.pi * t / period
    swing_l, swing_r = np.maximum(0.0, np.cos(phase)), np.maximum(0.0, np.cos(phase + np.pi))
    curves = constant(REST, t.size)
    curves["l_hip"] = hip * 0.15 + hip * np.sin(phase)
    curves["r_hip"] = hip * 0.15 - hip * np.sin(phase)
    curves["l_knee"] = 6.0 + knee * swing_l ** 1.5
    curves["r_knee"] = 6.0 + knee * swing_r ** 1.5
    curves["l_flex"] = 4.0 - arm * np.sin(phase)
    curves["r_flex"] = 4.0 + arm * np.sin(phase)
    curves["twist"] = 0.25 * arm * np.sin(phase)
    curves["roll"] = 2.5 * np.sin(phase)
    return curves


def walk(t: np.ndarray, tempo: float) -> Curves:
    curves = _gait(t, 1.1, 24.0, 45.0, 20.0)
    curves.update(lean=np.full(t.size, 4.0), speed=np.full(t.size, 140.0))
    return curves


def run(t: np.ndarray, tempo: float) -> Curves:
    curves = _gait(t, 0.7, 40.0, 85.0, 45.0)
    curves.update(lean=np.full(t.size, 12.0), speed=np.full(t.size, 380.0),
                  l_elbow=np.full(t.size, 90.0), r_elbow=np.full(t.size, 90.0))
    return curves


def dash(t: np.ndarray, duration: float) -> Curves:
    """A low burst of speed, arms swept back."""
    curves = _gait(t, 0.6, 46.0, 85.0, 12.0)
    surge = np.clip(np.sin(np.pi * np.clip(t / duration, 0, 1)) * 1.4, 0.0, 1.0)
    curves.update(lean=22.0 * np.ones(t.size), speed=650.0 * surge,
                  l_flex=curves["l_flex"] - 38.0, r_flex=curves["r_flex"] - 38.0,
                  l_abd=np.full(t.size, 20.0), r_abd=np.full(t.size, 20.0),
                  l_elbow=np.full(t.size, 25.0), r_elbow=np.full(t.size, 25.0))
    return curves


def dance(t: np.ndarray, tempo: float) -> Curves:
    """Bouncing on the beat, hips swaying, arms raised in turn."""
    beat = 2 * np.pi * t * tempo / 60.0
    curves = constant(REST, t.size)
    bounce = np.abs(np.sin(beat / 2))
    curves.update(l_knee=10.0 + 22.0 * bounce, r_knee=10.0 + 22.0 * bounce, l_hip=6.0 + 10.0 * bounce,
                  r_hip=6.0 + 10.0 * bounce, roll=7.0 * np.sin(beat / 2), twist=14.0 * np.sin(beat / 4),
                  l_flex=70.0 + 60.0 * np.sin(beat / 4), r_flex=70.0 - 60.0 * np.sin(beat / 4),
                  l_abd=30.0 + 20.0 * np.sin(beat / 2), r_abd=30.0 - 20.0 * np.sin(beat / 2),
                  l_elbow=np.full(t.size, 60.0), r_elbow=np.full(t.size, 60.0), lean=4.0 + 3.0 * bounce)
    return curves


def punch(t: np.ndarray, duration: float) -> Curves:
    """A straight right from the stance: chamber, extend with the hips, retract."""
    return keyframes(t, duration, [
        (0.0, STANCE),
        (0.3, {**STANCE, "r_flex": 40.0, "r_elbow": 125.0, "twist": 22.0}),
        (0.52, {**STANCE, "r_flex": 88.0, "r_abd": 2.0, "r_elbow": 4.0, "twist": -24.0, "lean": 14.0,
                "r_hip": 2.0, "l_knee": 45.0}),
        (0.72, {**STANCE, "r_flex": 70.0, "r_elbow": 70.0, "twist": -8.0}),
        (1.0, STANCE)])


def kick(t: np.ndarray, duration: float) -> Curves:
    """A front kick with the right leg: chamber, snap out, re-chamber, set down."""
    guard = {**STANCE, "l_hip": 14.0, "l_knee": 24.0}
    return keyframes(t, duration, [
        (0.0, STANCE),
        (0.28, {**guard, "r_hip": 78.0, "r_knee": 105.0, "lean": 0.0}),
        (0.48, {**guard, "r_hip": 92.0, "r_knee": 6.0, "lean": -14.0, "twist": -10.0}),
        (0.68, {**guard, "r_hip": 70.0, "r_knee": 95.0, "lean": -2.0}),
        (1.0, STANCE)])


def slash(t: np.ndarray, duration: float) -> Curves:
    """A two-handed overhead cut: raise the blade, lunge and cut down, follow through."""
    high = {"l_flex": 160.0, "r_flex": 160.0, "l_elbow": 45.0, "r_elbow": 45.0, "l_abd": 4.0, "r_abd": 4.0}
    lunge = {"l_hip": 55.0, "l_knee": 70.0, "r_hip": -18.0, "r_knee": 12.0}
    return keyframes(t, duration, [
        (0.0, SWORD_GUARD),
        (0.32, {**SWORD_GUARD, **high, "lean": -6.0, "twist": 18.0}),
        (0.58, {**SWORD_GUARD, **lunge, "l_flex": 48.0, "r_flex": 48.0, "l_elbow": 8.0, "r_elbow": 8.0,
                "lean": 28.0, "twist": -18.0, "speed": 160.0}),
        (0.75, {**SWORD_GUARD, **lunge, "l_flex": 18.0, "r_flex": 18.0, "l_elbow": 12.0, "r_elbow": 12.0,
                "lean": 32.0, "twist": -22.0}),
        (1.0, SWORD_GUARD)])


def block(t: np.ndarray, duration: float) -> Curves:
    """Forearms up across the face, a half step back."""
    cover = {**STANCE, "l_flex": 100.0, "r_flex": 95.0, "l_elbow": 115.0, "r_elbow": 110.0,
             "l_abd": 22.0, "r_abd": 22.0, "lean": -4.0, "twist": 0.0}
    return keyframes(t, duration, [(0.0, STANCE), (0.3, {**cover, "speed": -90.0}), (0.7, cover),
                                   (1.0, STANCE)])


def jump(t: np.ndarray, duration: float) -> Curves:
    """Crouch, spring up with the arms, tuck in the air, land soft."""
    crouch = {**REST, "l_hip": 50.0, "r_hip": 50.0, "l_knee": 92.0, "r_knee": 92.0, "lean": 26.0,
              "l_flex": -35.0, "r_flex": -35.0}
    curves = keyframes(t, duration, [
        (0.0, REST), (0.22, crouch),
        (0.42, {**REST, "l_hip": 5.0, "r_hip": 5.0, "l_knee": 5.0, "r_knee": 5.0, "l_flex": 150.0, "r_flex": 150.0}),
        (0.57, {**REST, "l_hip": 45.0, "r_hip": 45.0, "l_knee": 85.0, "r_knee": 85.0, "l_flex": 120.0,
                "r_flex": 120.0, "lean": 10.0}),
        (0.75, {**REST, "l_hip": 12.0, "r_hip": 12.0, "l_knee": 18.0, "r_knee": 18.0, "l_flex": 80.0,
                "r_flex": 80.0}),
        (0.86, {**crouch, "l_flex": 40.0, "r_flex": 40.0, "l_knee": 70.0, "r_knee": 70.0}), (1.0, REST)])
    flight = np.clip((t / duration - 0.42) / 0.33, 0.0, 1.0)
    curves["lift"] = 4.0 * 55.0 * flight * (1.0 - flight)
    curves["speed"] = 120.0 * np.sin(np.pi * flight)
    return curves


def spin(t: np.ndarray, duration: float) -> Curves:
    """A full turn on the spot, arms out."""
    out = {**REST, "l_abd": 75.0, "r_abd": 75.0, "l_elbow": 20.0, "r_elbow": 20.0, "l_knee": 15.0, "r_knee": 15.0}
    curves = keyframes(t, duration, [(0.0, REST), (0.2, out), (0.8, {**out, "yaw": 360.0}),
                                     (1.0, {**REST, "yaw": 360.0})])
    return curves


def bow(t: np.ndarray, duration: float) -> Curves:
    """A formal bow from the waist, hands at the sides."""
    low = {**REST, "lean": 42.0, "look": 10.0, "l_flex": 10.0, "r_flex": 10.0, "l_abd": 2.0, "r_abd": 2.0}
    return keyframes(t, duration, [(0.0, REST), (0.35, low), (0.6, low), (1.0, REST)])


@dataclass(frozen=True)
class ClipSpec:
    """An action's clip: its function, natural length (s) and whether it loops."""

    #: ``make(t, tempo_bpm)`` for cyclic clips, ``make(t, duration_s)`` for one-shot clips.
    make: Callable[[np.ndarray, float], Curves]
    duration: float
    cyclic: bool
    combat: bool = False


CLIPS: dict[str, ClipSpec] = {
    "idle": ClipSpec(idle, 3.0, True),
    "stance": ClipSpec(stance, 0.8, True, combat=True),
    "walk": ClipSpec(walk, 3.0, True),
    "run": ClipSpec(run, 2.5, True),
    "dash": ClipSpec(dash, 1.2, False),
    "dance": ClipSpec(dance, 4.0, True),
    "punch": ClipSpec(punch, 0.75, False, combat=True),
    "kick": ClipSpec(kick, 1.0, False, combat=True),
    "slash": ClipSpec(slash, 1.15, False, combat=True),
    "block": ClipSpec(block, 0.8, False, combat=True),
    "jump": ClipSpec(jump, 1.2, False),
    "spin": ClipSpec(spin, 1.1, False),
    "bow": ClipSpec(bow, 1.8, False),
}
