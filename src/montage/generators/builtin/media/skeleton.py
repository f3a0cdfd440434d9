"""The humanoid skeleton montage writes, and how its BVH file is laid out.

Y is up, the figure faces +Z, its left is +X, lengths are centimetres. The rest pose is a
T-pose (arms along ±X). The root ``Hips`` has six channels (position, then rotation) and
every other joint three rotation channels, all in the order Z X Y (as in most mocap
files), so a joint's local rotation is ``Rz · Rx · Ry``.

With that order, the angles the motion stage writes mean (degrees):

- legs (rest pointing down): X < 0 swings the thigh forward, X > 0 on ``*Leg`` bends the knee;
- spine, chest, neck, head: X > 0 leans forward, Y twists, Z bends sideways;
- ``LeftArm`` Z = -90 + abduction hangs the arm down, Y = -flexion raises it forward
  (``RightArm``: Z = 90 - abduction, Y = +flexion); ``*ForeArm`` Y bends the elbow
  (left negative, right positive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
JOINT_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
FPS = 30


@dataclass(frozen=True)
class JointSpec:
    """One joint: its parent, offset from the parent, and the end-site offset if it is a leaf."""

    name: str
    parent: str | None
    offset: tuple[float, float, float]
    end: tuple[float, float, float] | None = None


def _side(side: str, sign: float) -> list[JointSpec]:
    s = sign
    return [
        JointSpec(f"{side}Shoulder", "Chest", (4.0 * s, 17.0, 0.0)),
        JointSpec(f"{side}Arm", f"{side}Shoulder", (13.0 * s, 0.0, 0.0)),
        JointSpec(f"{side}ForeArm", f"{side}Arm", (28.0 * s, 0.0, 0.0)),
        JointSpec(f"{side}Hand", f"{side}ForeArm", (25.0 * s, 0.0, 0.0), end=(9.0 * s, 0.0, 0.0)),
    ]


def _leg(side: str, sign: float) -> list[JointSpec]:
    return [
        JointSpec(f"{side}UpLeg", "Hips", (9.0 * sign, -3.0, 0.0)),
        JointSpec(f"{side}Leg", f"{side}UpLeg", (0.0, -43.0, 0.0)),
        JointSpec(f"{side}Foot", f"{side}Leg", (0.0, -42.0, 0.0), end=(0.0, -6.0, 14.0)),
    ]


#: The joints in file order (parents before children).
JOINTS: tuple[JointSpec, ...] = (
    JointSpec("Hips", None, (0.0, 0.0, 0.0)),
    JointSpec("Spine", "Hips", (0.0, 10.0, 0.0)),
    JointSpec("Chest", "Spine", (0.0, 20.0, 0.0)),
    JointSpec("Neck", "Chest", (0.0, 22.0, 0.0)),
    JointSpec("Head", "Neck", (0.0, 10.0, 0.0), end=(0.0, 18.0, 0.0)),
    *_side("Left", 1.0),
    *_side("Right", -1.0),
    *_leg("Left", 1.0),
    *_leg("Right", -1.0),
)
JOINT_INDEX = {joint.name: index for index, joint in enumerate(JOINTS)}
#: Height of the hips above the floor when standing straight (3 + 43 + 42 + 6 cm).
STANDING_HIPS = 94.0
THIGH, SHIN, ANKLE = 43.0, 42.0, 9.0


def _children(name: str) -> list[JointSpec]:
    return [joint for joint in JOINTS if joint.parent == name]


def _fmt(values: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.4f}" for v in values)


def _hierarchy_lines(joint: JointSpec, depth: int) -> list[str]:
    pad = "\t" * depth
    keyword = "ROOT" if joint.parent is None else "JOINT"
    channels = ROOT_CHANNELS if joint.parent is None else JOINT_CHANNELS
    lines = [f"{pad}{keyword} {joint.name}", f"{pad}{{", f"{pad}\tOFFSET {_fmt(joint.offset)}",
             f"{pad}\tCHANNELS {len(channels)} {' '.join(channels)}"]
    if joint.end is not None:
        lines += [f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {_fmt(joint.end)}", f"{pad}\t}}"]
    for child in _children(joint.name):
        lines += _hierarchy_lines(child, depth + 1)
    lines.append(f"{pad}}}")
    return lines


def channel_count() -> int:
    """Values per frame: 6 for the root, 3 for every other joint."""
    return len(ROOT_CHANNELS) + len(JOINT_CHANNELS) * (len(JOINTS) - 1)


def write_bvh(path: str, root_position: np.ndarray, rotations: np.ndarray, fps: int = FPS) -> None:
    """Write a BVH file: ``root_position`` (F×3, cm) and ``rotations`` (F×J×3, degrees, Z X Y order)."""
    frames = rotations.shape[0]
    if rotations.shape[1:] != (len(JOINTS), 3) or root_position.shape != (frames, 3):
        raise ValueError("motion arrays do not match the skeleton")
    hierarchy = _hierarchy_lines(JOINTS[0], 0)
    values = np.concatenate([root_position, rotations.reshape(frames, -1)], axis=1)
    header = ["HIERARCHY", *hierarchy, "MOTION", f"Frames: {frames}", f"Frame Time: {1.0 / fps:.7f}"]
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        fh.write("\n".join(header) + "\n")
        np.savetxt(fh, values, fmt="%.4f", delimiter=" ")
