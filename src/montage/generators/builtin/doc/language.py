"""Languages the doc pipeline speaks: the allow-list, aliases and the voice for each.

A language is chosen by code (``zh-CN``, ``en-US``, …). Codes are matched without regard
to case or ``_``/``-``; a few names (``chinese``, ``中文``, ``english``) are aliases. A code
outside the allow-list falls back to English, and the caller logs that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """One supported language."""

    code: str  # canonical code, e.g. "zh-CN"
    family: str  # "zh" or "en": picks the phrase table of the built-in script writer
    espeak_voice: str  # espeak-ng voice name
    cjk_variant: str  # which Noto CJK face to prefer: SC, TC, HK, JP, KR
    name: str


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("zh-CN", "zh", "cmn", "SC", "普通话（简体）"),
        Language("zh-TW", "zh", "cmn", "TC", "國語（繁體）"),
        Language("en-US", "en", "en-us", "SC", "English (US)"),
        Language("en-GB", "en", "en", "SC", "English (UK)"),
    )
}

DEFAULT_LANGUAGE = "en-US"
CHINESE_DEFAULT = "zh-CN"

_ALIASES: dict[str, str] = {
    "zh": "zh-CN", "zh-cn": "zh-CN", "zh-hans": "zh-CN", "zh-hans-cn": "zh-CN", "zh-sg": "zh-CN",
    "cmn": "zh-CN", "cmn-cn": "zh-CN", "cmn-hans": "zh-CN", "chinese": "zh-CN", "mandarin": "zh-CN",
    "中文": "zh-CN", "汉语": "zh-CN", "普通话": "zh-CN", "简体中文": "zh-CN",
    "zh-tw": "zh-TW", "zh-hant": "zh-TW", "zh-hant-tw": "zh-TW", "cmn-tw": "zh-TW", "繁體中文": "zh-TW",
    "en": "en-US", "en-us": "en-US", "english": "en-US", "英文": "en-US", "英语": "en-US",
    "en-gb": "en-GB", "en-uk": "en-GB",
}

#: Every spelling accepted, for documentation and error messages.
ACCEPTED_LANGUAGE_CODES: tuple[str, ...] = tuple(sorted(set(_ALIASES) | set(LANGUAGES)))


def canonical_language(code: str | None) -> str | None:
    """The canonical code for ``code``, or None when it is empty or not in the allow-list."""
    if code is None:
        return None
    key = re.sub(r"[\s_]+", "-", code.strip()).lower()
    if not key:
        return None
    if key in _ALIASES:
        return _ALIASES[key]
    for canonical in LANGUAGES:
        if canonical.lower() == key:
            return canonical
    return None


_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str:
    """``zh-CN`` when Han characters make up a fair share of the letters, else ``en-US``."""
    sample = text[:20000]
    han = len(_CJK_RE.findall(sample))
    latin_words = len(re.findall(r"[A-Za-z]+", sample))
    return CHINESE_DEFAULT if han and han >= latin_words * 0.5 else DEFAULT_LANGUAGE


def resolve_language(requested: str | None, content: str) -> tuple[Language, str | None]:
    """The language to use and, when ``requested`` was not understood, a note saying so."""
    if requested is None or not requested.strip():
        return LANGUAGES[detect_language(content)], None
    canonical = canonical_language(requested)
    if canonical is None:
        note = f"language {requested!r} is not supported; falling back to {DEFAULT_LANGUAGE}"
        return LANGUAGES[DEFAULT_LANGUAGE], note
    return LANGUAGES[canonical], None


def language_by_code(code: str | None) -> Language:
    """The language for a canonical code written by an earlier stage (English if unknown)."""
    return LANGUAGES.get(canonical_language(code) or DEFAULT_LANGUAGE, LANGUAGES[DEFAULT_LANGUAGE])
