"""What a video request may ask for, and the frame size each ratio × resolution makes."""

from __future__ import annotations

from fractions import Fraction

#: Aspect ratios (width:height) every built-in video may have.
RATIOS: tuple[str, ...] = ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9")
#: Resolutions, named by the shorter side in pixels.
RESOLUTIONS: dict[str, int] = {"480p": 480, "720p": 720, "1080p": 1080}
#: Frames per second of built-in videos (film rate: x264's time grows with frames).
FPS = 24


def parse_ratio(ratio: str) -> Fraction:
    """``"16:9"`` → Fraction(16, 9); ValueError for anything else."""
    width, _, height = ratio.partition(":")
    if not (width.isdigit() and height.isdigit()) or int(width) == 0 or int(height) == 0:
        raise ValueError(f"ratio must look like 16:9, not {ratio!r}")
    return Fraction(int(width), int(height))


def frame_size(ratio: str, resolution: str) -> tuple[int, int]:
    """(width, height) in pixels: the shorter side is the resolution, both sides even.

    ``("16:9", "720p")`` → (1280, 720); ``("9:16", "480p")`` → (480, 854); ``("21:9", "1080p")``
    → (2520, 1080).
    """
    shorter = RESOLUTIONS[resolution]
    aspect = parse_ratio(ratio)
    longer = round(shorter * max(aspect, 1 / aspect) / 2) * 2
    return (longer, shorter) if aspect >= 1 else (shorter, longer)
