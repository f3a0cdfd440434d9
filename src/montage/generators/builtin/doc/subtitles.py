"""Subtitle cues from narration scripts, and their SRT and WebVTT files.

A slide's script is cut into sentences, long ones into clauses and then into pieces short
enough for one subtitle line, between words (or between Chinese, Japanese and Korean
characters, which have no spaces) and with the text kept as written; each piece gets a
share of the slide's speech time in proportion to its length.
"""

from __future__ import annotations

from dataclasses import dataclass

from montage.generators.builtin.doc.text import (
    NO_LINE_END,
    NO_LINE_START,
    split_clauses,
    split_sentences,
    tokens,
    width_units,
)


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from ``start`` to ``end`` seconds."""

    start: float
    end: float
    text: str


def _cut(text: str, max_units: int) -> list[str]:
    """``text`` as written, broken only between words or next to a wide character (the spaces
    at a break dropped). Closing punctuation stays with what it closes and opening punctuation
    with what it opens; a word wider than ``max_units`` stays whole."""
    if width_units(text) <= max_units:
        return [text]
    pieces: list[str] = []
    current = ""
    for token in tokens(text):
        breakable = current.strip() and not token.isspace() and token[0] not in NO_LINE_START
        if breakable and width_units(current + token) > max_units:
            piece, current = _keep_opening_with_next(current.rstrip())
            pieces.append(piece)
        current += token
    return [*pieces, current]


def _keep_opening_with_next(piece: str) -> tuple[str, str]:
    """(the piece to close, what starts the next one): a trailing "（" or "(" moves on."""
    if len(piece) > 1 and piece[-1] in NO_LINE_END:
        return piece[:-1], piece[-1]
    return piece, ""


def subtitle_pieces(script: str, max_units: int = 44) -> list[str]:
    """``script`` in pieces of at most about ``max_units`` display units."""
    pieces: list[str] = []
    for sentence in split_sentences(script):
        for clause in split_clauses(sentence) if width_units(sentence) > max_units else [sentence]:
            pieces.extend(p.strip() for p in _cut(clause, max_units) if p.strip())
    return pieces


def slide_cues(script: str, start: float, end: float, max_units: int = 44) -> list[Cue]:
    """Cues spreading ``script`` over ``start``–``end`` seconds."""
    pieces = subtitle_pieces(script, max_units)
    total = sum(max(1, width_units(p)) for p in pieces)
    if not pieces or end <= start:
        return []
    cues = []
    at = start
    for piece in pieces:
        length = (end - start) * max(1, width_units(piece)) / total
        cues.append(Cue(round(at, 3), round(min(end, at + length), 3), piece))
        at += length
    return cues


def _stamp(seconds: float, separator: str) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(cues: list[Cue]) -> str:
    """SubRip text."""
    blocks = [f"{n}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n" for n, c in enumerate(cues, 1)]
    return "\n".join(blocks)


def to_vtt(cues: list[Cue]) -> str:
    """WebVTT text."""
    blocks = [f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{_vtt_escape(c.text)}\n" for c in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
