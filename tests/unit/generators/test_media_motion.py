"""``media.motion`` and the BVH reader: a valid, smooth, deterministic humanoid animation."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from montage.generators.builtin.media.bvh import BvhError, forward_kinematics, parse_bvh, read_bvh
from montage.generators.builtin.media.motion import MotionConfig, MotionGenerator, plan_timeline
from montage.generators.standalone import StandaloneContext

HUMANOID = {"Hips", "Spine", "Chest", "Neck", "Head", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand",
            "RightShoulder", "RightArm", "RightForeArm", "RightHand", "LeftUpLeg", "LeftLeg", "LeftFoot",
            "RightUpLeg", "RightLeg", "RightFoot"}
#: The fastest a joint may turn between two frames at 30 fps (degrees): fast strikes, but no jumps.
MAX_STEP_DEG = 40.0


def run_motion(workdir: Path, prompt: str, duration: float, seed: int = 42) -> dict[str, Any]:
    ctx = StandaloneContext(workdir=workdir, input={"prompt": prompt, "options": {"duration_s": duration}},
                            stage="motion", seed=seed)
    outputs = MotionGenerator().run(ctx, MotionConfig())
    [artifact] = ctx.artifacts
    assert (artifact.path, artifact.role, artifact.mime) == ("motion/motion.bvh", "motion", "text/plain")
    return outputs


@pytest.mark.parametrize("duration", [0.5, 3.0, 7.3])
def test_bvh_structure_and_frame_count(tmp_path: Path, duration: float) -> None:
    outputs = run_motion(tmp_path, "A warrior dashes forward and slashes the enemy", duration)
    bvh = read_bvh(tmp_path / "motion" / "motion.bvh")
    assert {joint.name for joint in bvh.joints} == HUMANOID
    root = bvh.joints[0]
    assert root.name == "Hips" and root.parent is None
    assert root.channels == ["Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"]
    assert all(len(joint.channels) == 3 and joint.channels[0].endswith("rotation") for joint in bvh.joints[1:])
    assert bvh.frame_count == round(duration * 30) == outputs["frames"]
    assert bvh.frame_time == pytest.approx(1 / 30, abs=1e-6)
    assert np.all(np.isfinite(bvh.motion))


@pytest.mark.parametrize("prompt", [
    "A warrior dashes forward and slashes the enemy",
    "A cyberpunk dojo in heavy rain, samurai training",
    "A fighter performs a fast combo",
    "she runs, jumps, spins and bows",
    "a girl dancing on the beach",
    "a monk meditates",
])
def test_motion_is_smooth_and_grounded(tmp_path: Path, prompt: str) -> None:
    run_motion(tmp_path, prompt, 8.0)
    bvh = read_bvh(tmp_path / "motion" / "motion.bvh")
    rotations = bvh.motion[:, 3:]
    assert np.abs(np.diff(rotations, axis=0)).max() < MAX_STEP_DEG
    assert rotations.std(axis=0).max() > 1.0  # it does move
    names, world = forward_kinematics(bvh)
    toes = world[:, [names.index("LeftFoot_end"), names.index("RightFoot_end")], 1]
    lowest = toes.min(axis=1)
    assert np.percentile(np.abs(lowest), 90) < 8.0  # a foot is on the floor most of the time
    assert 120.0 < world[:, names.index("Head_end"), 1].max() < 260.0  # human-sized, even in a jump


def test_actions_follow_the_prompt(tmp_path: Path) -> None:
    outputs = run_motion(tmp_path, "A warrior dashes forward and slashes the enemy", 6.0)
    actions = [segment["action"] for segment in outputs["timeline"]]
    assert actions.index("dash") < actions.index("slash")
    assert outputs["timeline"][-1]["end"] == pytest.approx(6.0)
    bvh = read_bvh(tmp_path / "motion" / "motion.bvh")
    hips = bvh.channel_values("Hips")
    assert hips[-1, 2] - hips[0, 2] > 100.0  # the dash carries the figure forward (cm)


def test_timeline_fills_the_duration_without_gaps() -> None:
    for duration in (0.4, 2.0, 12.0, 61.0):
        segments = plan_timeline(("jump", "walk"), duration, 1.0, np.random.default_rng(1))
        assert segments[0].start == 0.0
        assert segments[-1].end == pytest.approx(duration)
        for before, after in itertools.pairwise(segments):
            assert after.start == pytest.approx(before.end)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    prompt = "A cyberpunk dojo in heavy rain, samurai training, epic music"
    run_motion(tmp_path / "a", prompt, 4.0)
    run_motion(tmp_path / "b", prompt, 4.0)
    run_motion(tmp_path / "c", prompt, 4.0, seed=9)
    first = (tmp_path / "a" / "motion" / "motion.bvh").read_bytes()
    assert first == (tmp_path / "b" / "motion" / "motion.bvh").read_bytes()
    assert first != (tmp_path / "c" / "motion" / "motion.bvh").read_bytes()


TINY = """HIERARCHY
ROOT Root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Arm
  {
    OFFSET 10 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 5 0 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.04
1 2 3 0 0 0 0 0 0
0 0 0 90 0 0 0 0 90
"""


def test_forward_kinematics_of_a_known_chain() -> None:
    bvh = parse_bvh(TINY)
    names, world = forward_kinematics(bvh)
    assert names == ["Root", "Arm", "Arm_end"]
    assert world[0, 2] == pytest.approx([16, 2, 3])
    # frame 2: root turned 90° about Z puts the arm on +Y; the arm's own 90° about Y (applied
    # first) swings its end site from +X to -Z before the root's turn.
    assert world[1, 1] == pytest.approx([0, 10, 0], abs=1e-9)
    assert world[1, 2] == pytest.approx([0, 10, -5], abs=1e-9)


@pytest.mark.parametrize("text", ["", "HIERARCHY\nROOT Hips\n{\nOFFSET 0 0\n", TINY.replace("Frames: 2", "Frames: 3"),
                                  TINY.replace("0.04", "0")])
def test_malformed_bvh_is_refused(text: str) -> None:
    with pytest.raises(BvhError):
        parse_bvh(text)
