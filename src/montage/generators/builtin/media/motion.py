"""``media.motion``: the prompt's actions as a BVH animation (``motion/motion.bvh``).

The actions (in prompt order) are laid on a timeline that fills ``duration_s``: one-shot
actions (strikes, jumps, bows) take their natural length, looping ones (walk, run, dance)
a share of the time, passes are separated by a rest (a fighting stance when the prompt has
combat, else idle) and repeat until the time is full. Neighbouring clips cross-fade over
:data:`BLEND_S` seconds with complementary smoothsteps, so joint angles never jump. The
figure's height above the floor follows from its leg angles (the longer leg stands on the
floor) plus a clip's ``lift`` (jumps); its path integrates the clips' forward speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.media.clips import CLIPS, REST, Curves, mirror
from montage.generators.builtin.media.common import STAGE_FILES, load_job, report, stage_rng
from montage.generators.builtin.media.skeleton import ANKLE, FPS, JOINT_INDEX, JOINTS, SHIN, THIGH, write_bvh
from montage.generators.registry import register

BLEND_S = 0.3
SOFTEN_KERNEL = np.asarray([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
#: Time a looping action gets in each pass when the prompt also has one-shot actions.
LOOP_SHARE_S = 2.5
REST_S = 0.7
#: A last segment shorter than this is merged into the one before it.
MIN_SEGMENT_S = 0.45


@dataclass(frozen=True)
class Segment:
    """One action on the timeline; ``clip_s`` is the clip's own length (its keyframe timing)."""

    action: str
    start: float
    end: float
    clip_s: float
    mirrored: bool = False
    amplitude: float = 1.0


def _pass_actions(actions: tuple[str, ...], rest: str, first_pass: bool) -> list[str]:
    lead = [rest] if first_pass and not CLIPS[actions[0]].cyclic else []
    return lead + list(actions) + ([rest] if not all(CLIPS[a].cyclic for a in actions) else [])


def _length(action: str, actions: tuple[str, ...], duration: float, speed: float) -> float:
    spec = CLIPS[action]
    if action in ("stance", "idle") and action not in actions:
        return REST_S
    if spec.cyclic:
        return duration / len(actions) if all(CLIPS[a].cyclic for a in actions) else LOOP_SHARE_S / speed
    return spec.duration / speed


def plan_timeline(actions: tuple[str, ...], duration: float, speed: float,
                  rng: np.random.Generator) -> list[Segment]:
    """Segments that cover ``[0, duration]`` exactly, in the order the prompt gives the actions."""
    actions = tuple(a for a in actions if a in CLIPS) or ("idle",)
    rest = "stance" if any(CLIPS[a].combat for a in actions) else "idle"
    segments: list[Segment] = []
    clock, strikes, first = 0.0, int(rng.integers(0, 2)), True
    while clock < duration - 1e-9:
        for action in _pass_actions(actions, rest, first):
            length = _length(action, actions, duration, speed)
            mirrored = CLIPS[action].combat and action != "stance" and strikes % 2 == 1
            strikes += 1 if CLIPS[action].combat else 0
            segments.append(Segment(action, clock, min(duration, clock + length), length, mirrored,
                                    float(rng.uniform(0.9, 1.1))))
            clock += length
            if clock >= duration - 1e-9:
                break
        first = False
    if len(segments) > 1 and segments[-1].end - segments[-1].start < MIN_SEGMENT_S:
        last = segments.pop()
        previous = segments.pop()
        segments.append(Segment(previous.action, previous.start, last.end, previous.clip_s,
                                previous.mirrored, previous.amplitude))
    return segments


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _segment_curves(segment: Segment, local: np.ndarray, tempo: float) -> Curves:
    spec = CLIPS[segment.action]
    curves = spec.make(local, tempo if spec.cyclic else segment.clip_s)
    curves = {name: REST[name] + (values - REST[name]) * (1.0 if name == "yaw" else segment.amplitude)
              for name, values in curves.items()}
    return mirror(curves) if segment.mirrored else curves


def evaluate(timeline: list[Segment], frames: int, fps: float, tempo: float) -> Curves:
    """Blend the timeline's clips into one curve per pose parameter, ``frames`` long."""
    t = np.arange(frames, dtype=np.float64) / fps
    totals = {name: np.zeros(frames) for name in REST}
    weights = np.zeros(frames)
    yaw_offset, half = 0.0, BLEND_S / 2
    for index, segment in enumerate(timeline):
        ramp_in = np.ones(frames) if index == 0 else _smoothstep((t - segment.start + half) / BLEND_S)
        last = index == len(timeline) - 1
        ramp_out = np.ones(frames) if last else _smoothstep((segment.end + half - t) / BLEND_S)
        active = np.nonzero(ramp_in * ramp_out > 0)[0]
        if active.size == 0:
            continue
        curves = _segment_curves(segment, t[active] - segment.start, tempo)
        curves["yaw"] = curves["yaw"] + yaw_offset
        end_yaw = _segment_curves(segment, np.asarray([segment.clip_s]), tempo)["yaw"][0]
        yaw_offset += float(end_yaw)
        weight = ramp_in[active] * ramp_out[active]
        weights[active] += weight
        for name in totals:
            totals[name][active] += weight * curves[name]
    return {name: _soften(values / np.maximum(weights, 1e-9)) for name, values in totals.items()}


def _soften(values: np.ndarray) -> np.ndarray:
    """A 5-tap binomial filter: takes the edge off the fastest strikes without blurring the pose."""
    if values.size < 5:
        return values
    padded = np.pad(values, 2, mode="edge")
    return np.convolve(padded, SOFTEN_KERNEL, mode="valid")


def _leg_height(hip: np.ndarray, knee: np.ndarray) -> np.ndarray:
    hip_r, knee_r = np.radians(hip), np.radians(knee)
    return THIGH * np.cos(hip_r) + SHIN * np.cos(hip_r - knee_r) + ANKLE


def root_path(curves: Curves, fps: float) -> np.ndarray:
    """Hips position per frame (cm): forward speed integrated along the facing, height from the legs."""
    heading = np.radians(curves["yaw"])
    step = curves["speed"] / fps
    x = np.concatenate([[0.0], np.cumsum(step * np.sin(heading))[:-1]])
    z = np.concatenate([[0.0], np.cumsum(step * np.cos(heading))[:-1]])
    standing = np.maximum(_leg_height(curves["l_hip"], curves["l_knee"]),
                          _leg_height(curves["r_hip"], curves["r_knee"]))
    return np.stack([x, standing + curves["lift"], z], axis=1)


def pose_rotations(c: Curves) -> np.ndarray:
    """Joint rotations (frames × joints × [Z, X, Y] degrees) from pose parameters."""
    frames = c["lean"].size
    zero = np.zeros(frames)
    rotations = np.zeros((frames, len(JOINTS), 3))
    table = {
        "Hips": (c["roll"], zero, c["yaw"]),
        "Spine": (c["bend"] * 0.6, c["lean"] * 0.55, c["twist"] * 0.4),
        "Chest": (c["bend"] * 0.4, c["lean"] * 0.35, c["twist"] * 0.6),
        "Neck": (zero, c["look"] * 0.5 - c["lean"] * 0.35, -c["twist"] * 0.3),
        "Head": (zero, c["look"] * 0.5 - c["lean"] * 0.25, -c["twist"] * 0.2),
        "LeftShoulder": (np.maximum(0.0, c["l_flex"] - 90.0) * 0.15, zero, zero),
        "RightShoulder": (-np.maximum(0.0, c["r_flex"] - 90.0) * 0.15, zero, zero),
        "LeftArm": (c["l_abd"] - 90.0, zero, -c["l_flex"]),
        "RightArm": (90.0 - c["r_abd"], zero, c["r_flex"]),
        "LeftForeArm": (zero, zero, -c["l_elbow"]),
        "RightForeArm": (zero, zero, c["r_elbow"]),
        "LeftHand": (zero, zero, -c["l_elbow"] * 0.1),
        "RightHand": (zero, zero, c["r_elbow"] * 0.1),
        "LeftUpLeg": (zero, -c["l_hip"], zero),
        "RightUpLeg": (zero, -c["r_hip"], zero),
        "LeftLeg": (zero, c["l_knee"], zero),
        "RightLeg": (zero, c["r_knee"], zero),
        "LeftFoot": (zero, (c["l_hip"] - c["l_knee"]) * 0.7, zero),
        "RightFoot": (zero, (c["r_hip"] - c["r_knee"]) * 0.7, zero),
    }
    for name, (z, x, y) in table.items():
        rotations[:, JOINT_INDEX[name]] = np.stack([z, x, y], axis=1)
    return rotations


class MotionConfig(GeneratorConfig):
    """Frame rate of the BVH file."""

    fps: int = Field(FPS, ge=10, le=120, description="Frames per second.")


@register
class MotionGenerator:
    """Writes ``motion/motion.bvh``: the prompt's actions, blended, on a humanoid skeleton."""

    name: ClassVar[str] = "media.motion"
    Config: ClassVar[type[GeneratorConfig]] = MotionConfig

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        cfg = config if isinstance(config, MotionConfig) else MotionConfig.model_validate(config or {})
        job, analysis = load_job(ctx)
        duration = job.options.duration_s
        frames = max(1, round(duration * cfg.fps))
        report(ctx, 5, f"Planning motion: {', '.join(analysis.actions)}")
        timeline = plan_timeline(analysis.actions, duration, analysis.speed, stage_rng(ctx, "motion"))
        ctx.log(f"motion: {len(timeline)} clips, {frames} frames at {cfg.fps} fps: "
                + " → ".join(s.action for s in timeline[:12]))
        curves = evaluate(timeline, frames, cfg.fps, analysis.music.tempo_bpm)
        report(ctx, 60, "Writing BVH")
        relpath = STAGE_FILES["motion"]
        write_bvh(str(ctx.path(relpath)), root_path(curves, cfg.fps), pose_rotations(curves), cfg.fps)
        ctx.add_artifact(relpath, role="motion", mime="text/plain")
        report(ctx, 100, "motion ready")
        return {"path": relpath, "fps": cfg.fps, "frames": frames, "duration_s": duration,
                "actions": list(analysis.actions),
                "timeline": [{"action": s.action, "start": round(s.start, 3), "end": round(s.end, 3)}
                             for s in timeline]}
