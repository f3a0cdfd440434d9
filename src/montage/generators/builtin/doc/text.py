"""Plain-text helpers shared by the doc stages: cleaning, sentences, widths, shortening."""

from __future__ import annotations

import re
import unicodedata

from montage.errors import GeneratorError

_CJK_RANGES = (
    (0x1100, 0x11FF), (0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3040, 0x30FF), (0x3100, 0x312F),
    (0x3130, 0x318F), (0x31A0, 0x31FF), (0x3200, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF),
    (0x20000, 0x2FFFF),
)

_SENTENCE_END = re.compile(r"(?<=[。！？!?])\s*|(?<=\.)\s+(?=[A-Z0-9\"'(\u4e00-\u9fff])|\n+")
_CLAUSE_END = re.compile(r"(?<=[，,、：:；;])\s*")
#: Closing punctuation: never the first character of a line or a subtitle.
NO_LINE_START = frozenset("，。、；：！？）》」』】〕〉”’,.;:!?)]}%…·～")
#: Opening punctuation: never the last character of a line or a subtitle.
NO_LINE_END = frozenset("（《「『【〔〈“‘([{")


def is_wide(ch: str) -> bool:
    """True for characters set on a full-width grid (Han, kana, Hangul, CJK punctuation)."""
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


def has_cjk(text: str) -> bool:
    """True when ``text`` contains any full-width (CJK) character."""
    return any(is_wide(ch) for ch in text)


def width_units(text: str) -> int:
    """Rough display width: 2 per full-width character, 1 per other character."""
    return sum(2 if is_wide(ch) else 1 for ch in text)


def tokens(text: str) -> list[str]:
    """Units text may break between: each wide character alone, words, and runs of spaces."""
    out: list[str] = []
    current = ""
    for ch in text:
        if is_wide(ch):
            if current:
                out.append(current)
                current = ""
            out.append(ch)
        elif current and current[-1].isspace() != ch.isspace():
            out.append(current)
            current = ch
        else:
            current += ch
    if current:
        out.append(current)
    return out


def clean_content(content: object) -> str:
    """Markdown source made safe to parse: str, normalised newlines, no control characters.

    Raises ``GeneratorError`` (``CONTENT_NOT_TEXT``) when the content is mostly not text, and
    (``EMPTY_CONTENT``) when nothing printable is left.
    """
    if isinstance(content, bytes | bytearray):
        content = bytes(content).decode("utf-8", errors="replace")
    if not isinstance(content, str):
        raise GeneratorError("content must be a string", code="INVALID_CONTENT", retryable=False)
    text = content.encode("utf-8", errors="replace").decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    total = len(text) or 1
    bad = sum(1 for ch in text if _is_junk(ch))
    if bad >= 8 and bad / total > 0.15:
        raise GeneratorError(
            f"content does not look like text ({bad} of {total} characters are control or "
            "undecodable characters)", code="CONTENT_NOT_TEXT", retryable=False,
        )
    text = "".join(ch for ch in text if ch == "\n" or not _is_junk(ch))
    if not any(ch.isalnum() for ch in text):
        raise GeneratorError("content has no words to turn into a video", code="EMPTY_CONTENT",
                             retryable=False)
    return text


def _is_junk(ch: str) -> bool:
    if ch in "\n ":
        return False
    category = unicodedata.category(ch)
    return ch == "\ufffd" or category in ("Cc", "Cs", "Co", "Cn")


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph, for Chinese and English punctuation alike."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def split_clauses(sentence: str) -> list[str]:
    """Clauses of a sentence, split after commas and colons."""
    return [c.strip() for c in _CLAUSE_END.split(sentence) if c and c.strip()]


def shorten(text: str, max_units: int) -> str:
    """``text`` cut to about ``max_units`` display units, ending with … when cut."""
    text = " ".join(text.split())
    if width_units(text) <= max_units:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        used += 2 if is_wide(ch) else 1
        if used > max_units - 1:
            break
        out.append(ch)
    cut = "".join(out).rstrip()
    if not has_cjk(cut) and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip("，,、;；:： ") + "…"


def strip_symbols_for_speech(text: str) -> str:
    """Text an offline voice can read: no URLs, markup leftovers, emoji or stray symbols."""
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"[`*_#>|~^\\{}\[\]<>]+", " ", text)
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("So", "Sk", "Cs", "Co", "Cn", "Cc") and ch != "\n":
            kept.append(" ")
        else:
            kept.append(ch)
    return re.sub(r"[ \t]+", " ", "".join(kept)).strip()


def key_phrase(sentence: str, max_units: int) -> str:
    """A sentence made to fit ``max_units``: whole leading clauses when possible, else cut with …."""
    sentence = " ".join(sentence.split())
    if width_units(sentence) <= max_units:
        return sentence
    kept = ""
    for clause in split_clauses(sentence):
        glue = "" if not kept or is_wide(kept[-1]) else " "
        joined = kept + glue + clause
        if width_units(joined) > max_units:
            break
        kept = joined
    if width_units(kept) >= max_units // 3:
        return kept.rstrip("，,、;；:： ")
    return shorten(sentence, max_units)


def clip_text(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters, at a sentence end when one is near."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    end = max(cut.rfind(mark) for mark in "。！？.!?")
    return cut[: end + 1] if end >= max_chars // 2 else cut.rstrip() + "…"
