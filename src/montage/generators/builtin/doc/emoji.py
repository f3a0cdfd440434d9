"""Emoji in text: which characters belong together, and which want to be drawn in colour.

An emoji may be several code points drawn as one picture: a base with a skin tone, a variation
selector (U+FE0F asks for the colour picture, U+FE0E for the text glyph), a keycap mark, a
flag's two regional indicators, or people and things joined by U+200D. Such a cluster goes to
one face whole, so the shaper (raqm) can draw it as one glyph.
"""

from __future__ import annotations

TEXT_STYLE = "\ufe0e"
EMOJI_STYLE = "\ufe0f"
JOINER = "\u200d"
KEYCAP = "\u20e3"
#: Characters that draw nothing by themselves (never "missing" from a font).
INVISIBLE = frozenset((TEXT_STYLE, EMOJI_STYLE, JOINER))

#: Code points below U+1F000 shown as a colour emoji even without U+FE0F (Unicode's
#: Emoji_Presentation=Yes in the Basic Multilingual Plane: ⌚ ⏰ ☕ ⚡ ✅ ❌ ⭐ …).
_BMP_EMOJI = (
    (0x231A, 0x231B), (0x23E9, 0x23EC), (0x23F0, 0x23F0), (0x23F3, 0x23F3), (0x25FD, 0x25FE),
    (0x2614, 0x2615), (0x2648, 0x2653), (0x267F, 0x267F), (0x2693, 0x2693), (0x26A1, 0x26A1),
    (0x26AA, 0x26AB), (0x26BD, 0x26BE), (0x26C4, 0x26C5), (0x26CE, 0x26CE), (0x26D4, 0x26D4),
    (0x26EA, 0x26EA), (0x26F2, 0x26F3), (0x26F5, 0x26F5), (0x26FA, 0x26FA), (0x26FD, 0x26FD),
    (0x2705, 0x2705), (0x270A, 0x270B), (0x2728, 0x2728), (0x274C, 0x274C), (0x274E, 0x274E),
    (0x2753, 0x2755), (0x2757, 0x2757), (0x2795, 0x2797), (0x27B0, 0x27B0), (0x27BF, 0x27BF),
    (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
)
_EMOJI_BLOCKS = (0x1F000, 0x1FAFF)  # mahjong tiles to symbols and pictographs extended-A
_REGIONAL = (0x1F1E6, 0x1F1FF)
_SKIN_TONES = (0x1F3FB, 0x1F3FF)
_TAGS = (0xE0020, 0xE007F)  # subdivision flags (🏴 + tags)


def _within(ch: str, span: tuple[int, int]) -> bool:
    return span[0] <= ord(ch) <= span[1]


def _extends(ch: str) -> bool:
    """True for what modifies the character before it rather than standing alone."""
    return ch in INVISIBLE or ch == KEYCAP or _within(ch, _SKIN_TONES) or _within(ch, _TAGS)


def _completes_flag(cluster: str, ch: str) -> bool:
    return len(cluster) == 1 and _within(cluster, _REGIONAL) and _within(ch, _REGIONAL)


def clusters(text: str) -> list[str]:
    """``text`` in drawing units: each character alone, except that an emoji's modifiers, joined
    parts and a flag's second letter stay with it."""
    out: list[str] = []
    for ch in text:
        if out and (_extends(ch) or out[-1].endswith(JOINER) or _completes_flag(out[-1], ch)):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def wants_colour(cluster: str) -> bool:
    """True when ``cluster`` is an emoji to draw as a colour picture rather than a text glyph."""
    if TEXT_STYLE in cluster:
        return False
    if len(cluster) > 1 and any(ch in (EMOJI_STYLE, KEYCAP, JOINER) for ch in cluster[1:]):
        return True
    first = cluster[:1]
    return bool(first) and (_within(first, _EMOJI_BLOCKS) or any(_within(first, span) for span in _BMP_EMOJI))
