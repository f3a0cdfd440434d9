"""Split text into chunks of at most ``chunk_size`` characters sharing about ``overlap``.

A chunk ends, by preference, at a paragraph break, a line break, the end of a sentence or a
space in the second half of its window; the next one starts ``overlap`` characters earlier at
the start of a word, so no word is cut where the text has spaces to cut at.
"""

from __future__ import annotations

import re

from montage.domain.knowledge import ChunkText

_SENTENCE_END = re.compile(r"[.!?。！？;；](?=\s|$)|[。！？；]")
_BREAKS: tuple[tuple[str, re.Pattern[str] | None], ...] = (("\n\n", None), ("\n", None), ("", _SENTENCE_END),
                                                           (" ", None))


def normalise(text: str) -> str:
    """Unify line ends, drop trailing spaces and runs of more than one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t\f\v]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def split_text(text: str, chunk_size: int, overlap: int) -> list[ChunkText]:
    """Chunks of ``text`` in order; positions refer to ``text`` itself."""
    if chunk_size < 1 or not 0 <= overlap < chunk_size:
        raise ValueError("need chunk_size >= 1 and 0 <= overlap < chunk_size")
    chunks: list[ChunkText] = []
    start = _skip_space(text, 0)
    while start < len(text):
        end = min(len(text), start + chunk_size)
        if end < len(text):
            end = _break_before(text, start + max(1, chunk_size // 2), end)
        piece = text[start:end].rstrip()
        if piece:
            chunks.append(ChunkText(position=len(chunks), text=piece, start=start, end=start + len(piece)))
        if end >= len(text):
            break
        start = _skip_space(text, _next_start(text, start, end, overlap))
    return chunks


def _break_before(text: str, low: int, high: int) -> int:
    """The best place in ``text[low:high]`` to end a chunk (an index just after a separator)."""
    window = text[low:high]
    for separator, pattern in _BREAKS:
        if pattern is not None:
            ends = [m.end() for m in pattern.finditer(window)]
            if ends:
                return low + ends[-1]
            continue
        at = window.rfind(separator)
        if at >= 0:
            return low + at + len(separator)
    return high


def _next_start(text: str, start: int, end: int, overlap: int) -> int:
    """Where the next chunk starts: ``overlap`` back from ``end``, moved forward to a word start."""
    at = max(end - overlap, start + 1)
    if at >= end or text[at - 1].isspace() or text[at].isspace():
        return at
    space = text.find(" ", at, end)
    newline = text.find("\n", at, end)
    found = [i for i in (space, newline) if i >= 0]
    return min(found) + 1 if found else at


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at
