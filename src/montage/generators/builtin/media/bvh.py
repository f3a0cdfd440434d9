"""A BVH reader with forward kinematics.

Reads any well-formed BVH file (any joint names, channel counts and rotation orders), not
only the ones montage writes. :func:`forward_kinematics` turns the motion into world
positions of every joint and end site, frame by frame, with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class BvhError(ValueError):
    """The text is not a BVH file this reader understands."""


@dataclass
class BvhJoint:
    """One joint of a BVH hierarchy."""

    name: str
    parent: int | None
    offset: np.ndarray
    channels: list[str] = field(default_factory=list)
    end_site: np.ndarray | None = None
    #: Index of this joint's first channel in a frame's values.
    channel_start: int = 0


@dataclass
class Bvh:
    """A parsed BVH file: the hierarchy, the frame time and a frames × channels array."""

    joints: list[BvhJoint]
    frame_time: float
    motion: np.ndarray

    @property
    def frame_count(self) -> int:
        return int(self.motion.shape[0])

    def joint(self, name: str) -> BvhJoint:
        """The joint called ``name`` (``KeyError`` if there is none)."""
        for joint in self.joints:
            if joint.name == name:
                return joint
        raise KeyError(name)

    def channel_values(self, name: str) -> np.ndarray:
        """The motion of one joint: frames × its channel count."""
        joint = self.joint(name)
        return self.motion[:, joint.channel_start: joint.channel_start + len(joint.channels)]


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items = text.split()
        self.pos = 0

    def next(self) -> str:
        if self.pos >= len(self.items):
            raise BvhError("unexpected end of file")
        self.pos += 1
        return self.items[self.pos - 1]

    def expect(self, word: str) -> None:
        token = self.next()
        if token.upper() != word.upper():
            raise BvhError(f"expected {word!r}, found {token!r}")

    def floats(self, count: int) -> np.ndarray:
        try:
            return np.asarray([float(self.next()) for _ in range(count)], dtype=np.float64)
        except ValueError as exc:
            raise BvhError(f"bad number: {exc}") from None


def _parse_joint(tokens: _Tokens, name: str, parent: int | None, joints: list[BvhJoint], start: int) -> int:
    """Parse one joint block (after its name); returns the next free channel index."""
    tokens.expect("{")
    tokens.expect("OFFSET")
    joint = BvhJoint(name=name, parent=parent, offset=tokens.floats(3), channel_start=start)
    joints.append(joint)
    index = len(joints) - 1
    word = tokens.next()
    if word.upper() == "CHANNELS":
        count = int(tokens.next())
        joint.channels = [tokens.next() for _ in range(count)]
        start += count
        word = tokens.next()
    while word != "}":
        if word.upper() == "JOINT":
            start = _parse_joint(tokens, tokens.next(), index, joints, start)
        elif word.upper() == "END":
            tokens.next()  # "Site"
            tokens.expect("{")
            tokens.expect("OFFSET")
            joint.end_site = tokens.floats(3)
            tokens.expect("}")
        else:
            raise BvhError(f"unexpected {word!r} in joint {name!r}")
        word = tokens.next()
    return start


def parse_bvh(text: str) -> Bvh:
    """Parse BVH text; raises :class:`BvhError` when it is malformed."""
    tokens = _Tokens(text)
    tokens.expect("HIERARCHY")
    tokens.expect("ROOT")
    joints: list[BvhJoint] = []
    channels = _parse_joint(tokens, tokens.next(), None, joints, 0)
    tokens.expect("MOTION")
    tokens.expect("Frames:")
    frames = int(tokens.next())
    tokens.expect("Frame")
    tokens.expect("Time:")
    frame_time = float(tokens.next())
    values = tokens.items[tokens.pos:]
    if len(values) != frames * channels:
        raise BvhError(f"expected {frames}×{channels} motion values, found {len(values)}")
    motion = np.asarray(values, dtype=np.float64).reshape(frames, channels) if frames else np.zeros((0, channels))
    if frame_time <= 0 or not np.all(np.isfinite(motion)):
        raise BvhError("frame time must be positive and motion values finite")
    return Bvh(joints=joints, frame_time=frame_time, motion=motion)


def read_bvh(path: str | Path) -> Bvh:
    """Parse a BVH file."""
    return parse_bvh(Path(path).read_text(encoding="utf-8", errors="replace"))


def _axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """F×3×3 rotation matrices about ``axis`` (x, y or z)."""
    radians = np.radians(degrees)
    c, s = np.cos(radians), np.sin(radians)
    one, zero = np.ones_like(c), np.zeros_like(c)
    rows = {
        "x": ((one, zero, zero), (zero, c, -s), (zero, s, c)),
        "y": ((c, zero, s), (zero, one, zero), (-s, zero, c)),
        "z": ((c, -s, zero), (s, c, zero), (zero, zero, one)),
    }[axis]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def local_transform(joint: BvhJoint, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F×3 translation, F×3×3 rotation) of a joint relative to its parent, from its channel values."""
    frames = values.shape[0]
    translation = np.repeat(joint.offset[None, :], frames, axis=0)
    rotation = np.repeat(np.eye(3)[None], frames, axis=0)
    for column, channel in enumerate(joint.channels):
        kind, axis = channel[1:].lower(), channel[0].lower()
        if kind == "position":
            translation[:, "xyz".index(axis)] += values[:, column]
        elif kind == "rotation":
            rotation = rotation @ _axis_rotation(axis, values[:, column])
        else:
            raise BvhError(f"unknown channel {channel!r}")
    return translation, rotation


def forward_kinematics(bvh: Bvh) -> tuple[list[str], np.ndarray]:
    """World positions of every joint and end site: (names, F×N×3).

    End sites are named ``<joint>_end``. Frames come in file order.
    """
    names: list[str] = []
    positions: list[np.ndarray] = []
    world_rot: list[np.ndarray] = []
    world_pos: list[np.ndarray] = []
    for joint in bvh.joints:
        values = bvh.motion[:, joint.channel_start: joint.channel_start + len(joint.channels)]
        translation, rotation = local_transform(joint, values)
        if joint.parent is None:
            position, orientation = translation, rotation
        else:
            parent_rot, parent_pos = world_rot[joint.parent], world_pos[joint.parent]
            position = parent_pos + np.einsum("fij,fj->fi", parent_rot, translation)
            orientation = parent_rot @ rotation
        world_rot.append(orientation)
        world_pos.append(position)
        names.append(joint.name)
        positions.append(position)
        if joint.end_site is not None:
            names.append(f"{joint.name}_end")
            positions.append(position + orientation @ joint.end_site)
    return names, np.stack(positions, axis=1) if positions else np.zeros((bvh.frame_count, 0, 3))
