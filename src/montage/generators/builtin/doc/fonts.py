"""Fonts for slides: finding them, and knowing which characters each can draw.

Faces are found with ``fc-match`` when fontconfig is installed, else at the paths the
usual packages install them to (Debian ``fonts-noto-cjk``, ``fonts-dejavu-core`` and
``fonts-noto-color-emoji``). Coverage is read from each face's ``cmap`` with fontTools, so
"has a glyph" is exact rather than guessed from pixels. Text is drawn in runs: each
character goes to the first face of a chain that has it, and an emoji to the colour emoji
face (see ``doc.emoji``); a colour face has bitmaps of one size only (``glyphs`` scales them).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import ImageFont

from montage.errors import GeneratorError
from montage.generators.builtin.doc.emoji import INVISIBLE, clusters, wants_colour

#: Face index of each variant inside Noto Sans CJK .ttc files (sans, then mono).
_NOTO_TTC_INDEX = {"JP": 0, "KR": 1, "SC": 2, "TC": 3, "HK": 4}
_NOTO_MONO_OFFSET = 5
_NOTO_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/noto-cjk",
              "/usr/share/fonts/google-noto-cjk", "/usr/share/fonts/opentype/noto-cjk",
              "/usr/local/share/fonts")
_DEJAVU_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
                "/usr/share/fonts/TTF", "/usr/local/share/fonts")
_EMOJI_DIRS = ("/usr/share/fonts/truetype/noto", "/usr/share/fonts/noto", "/usr/share/fonts/google-noto-emoji",
               "/usr/share/fonts/google-noto-color-emoji-fonts", "/usr/local/share/fonts")
PROBE_HAN = "中"
PROBE_EMOJI = "\U0001f600"
REPLACEMENT = "?"


@dataclass(frozen=True)
class FontFace:
    """One face of a font file."""

    path: str
    index: int = 0
    bitmap_size: int = 0  # a colour bitmap face (Noto Color Emoji): the one pixel size its glyphs come in

    @property
    def key(self) -> str:
        return f"{self.path}#{self.index}"

    def covers(self, ch: str) -> bool:
        """True when the face has a glyph for ``ch`` (whitespace and the invisible emoji
        joiner and selectors always count as drawable)."""
        return ch in "\n\t " or ch in INVISIBLE or ord(ch) in face_codepoints(self.path, self.index)

    def font(self, size: float) -> ImageFont.FreeTypeFont:
        """The Pillow font of this face for text of ``size`` pixels (a colour face: at its own size)."""
        return pil_font(self.path, self.index, self.bitmap_size or max(6, int(size)))

    def scale(self, size: float) -> float:
        """How much what :meth:`font` draws is scaled for text of ``size`` pixels."""
        return max(6, int(size)) / self.bitmap_size if self.bitmap_size else 1.0


@lru_cache(maxsize=32)
def face_codepoints(path: str, index: int = 0) -> frozenset[int]:
    """Every code point the face maps to a glyph."""
    font = TTFont(path, fontNumber=index, lazy=True) if path.lower().endswith((".ttc", ".otc")) \
        else TTFont(path, lazy=True)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


_thread_fonts = threading.local()


def pil_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    """A Pillow font, cached per thread: a FreeType face must not be shared between threads."""
    cache: dict[tuple[str, int, int], ImageFont.FreeTypeFont] | None = getattr(_thread_fonts, "cache", None)
    if cache is None:
        cache = _thread_fonts.cache = {}
    key = (path, index, size)
    if key not in cache:
        if len(cache) > 256:
            cache.clear()
        cache[key] = ImageFont.truetype(path, size=size, index=index)
    return cache[key]


def colour_bitmap_size(path: str) -> int:
    """The pixel size of a colour bitmap font's largest strike (``CBLC``); 0 for other fonts."""
    font = TTFont(path, lazy=True)
    try:
        if "CBLC" not in font:
            return 0
        return max(int(s.bitmapSizeTable.ppemY) for s in font["CBLC"].strikes)
    finally:
        font.close()


def undrawn_warning(missing: Iterable[str]) -> str:
    """The job log's words for characters no installed font has (they are drawn as ``?``)."""
    chars = sorted(missing)
    hint = " (install fonts-noto-color-emoji to draw emoji)" if any(wants_colour(ch) for ch in chars) else ""
    return f"no installed font has {''.join(chars)!r}; drawn as {REPLACEMENT!r}{hint}"


def missing_glyphs(text: str, face: FontFace) -> list[str]:
    """The characters of ``text`` that ``face`` has no glyph for, in order of appearance."""
    seen: dict[str, None] = {}
    for ch in text:
        if not face.covers(ch):
            seen.setdefault(ch, None)
    return list(seen)


def _fc_match(pattern: str) -> FontFace | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        result = subprocess.run(["fc-match", "-f", "%{file}\n%{index}", pattern], capture_output=True,
                                text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = result.stdout.strip().split("\n")
    if result.returncode != 0 or len(lines) < 2 or not Path(lines[0]).is_file():
        return None
    return FontFace(lines[0], int(lines[1]) if lines[1].isdigit() else 0)


def _first_file(dirs: tuple[str, ...], names: tuple[str, ...]) -> str | None:
    for directory in dirs:
        for name in names:
            candidate = Path(directory) / name
            if candidate.is_file():
                return str(candidate)
    return None


def _cjk_face(variant: str, bold: bool, mono: bool) -> FontFace | None:
    kind = "Sans Mono" if mono else "Sans"
    face = _fc_match(f"Noto {kind} CJK {variant}" + (":bold" if bold else ""))
    if face is not None and face.covers(PROBE_HAN):
        return face
    names = ("NotoSansCJK-Bold.ttc",) if bold else ("NotoSansCJK-Regular.ttc", "NotoSansCJK.ttc")
    path = _first_file(_NOTO_DIRS, names)
    if path is not None:
        face = FontFace(path, _NOTO_TTC_INDEX.get(variant, 2) + (_NOTO_MONO_OFFSET if mono else 0))
        if face.covers(PROBE_HAN):
            return face
    face = _fc_match("sans-serif:lang=zh-cn")
    return face if face is not None and face.covers(PROBE_HAN) else None


def _latin_face(family: str, filename: str) -> FontFace | None:
    path = _first_file(_DEJAVU_DIRS, (filename,))
    if path is not None:
        return FontFace(path)
    face = _fc_match(family)
    return face if face is not None and face.covers("A") else None


def _emoji_face() -> FontFace | None:
    """Noto Color Emoji, when installed (fc-match answers its best match, so check what it is)."""
    found = _fc_match("Noto Color Emoji")
    paths = [found.path] if found is not None else []
    paths += [p for p in [_first_file(_EMOJI_DIRS, ("NotoColorEmoji.ttf",))] if p is not None]
    for path in paths:
        size = colour_bitmap_size(path) if path.lower().endswith(".ttf") else 0
        if size and FontFace(path).covers(PROBE_EMOJI):
            return FontFace(path, 0, size)
    return None


@dataclass(frozen=True)
class FontChains:
    """Face chains for slide text: first face that has a character draws it."""

    regular: tuple[FontFace, ...]
    bold: tuple[FontFace, ...]
    mono: tuple[FontFace, ...]
    has_cjk: bool


@lru_cache(maxsize=8)
def font_chains(cjk_variant: str = "SC") -> FontChains:
    """The fonts for slides in a language whose Han characters use ``cjk_variant``."""
    cjk = _cjk_face(cjk_variant, bold=False, mono=False)
    cjk_bold = _cjk_face(cjk_variant, bold=True, mono=False) or cjk
    cjk_mono = _cjk_face(cjk_variant, bold=False, mono=True) or cjk
    sans = _latin_face("DejaVu Sans", "DejaVuSans.ttf")
    sans_bold = _latin_face("DejaVu Sans:bold", "DejaVuSans-Bold.ttf") or sans
    mono = _latin_face("DejaVu Sans Mono", "DejaVuSansMono.ttf")
    emoji = _emoji_face()

    def chain(*faces: FontFace | None) -> tuple[FontFace, ...]:
        return tuple(dict.fromkeys(f for f in faces if f is not None))

    chains = FontChains(regular=chain(cjk, sans, emoji), bold=chain(cjk_bold, sans_bold, cjk, sans, emoji),
                        mono=chain(mono, cjk_mono, cjk, sans, emoji), has_cjk=cjk is not None)
    if not chains.regular or not chains.mono:
        raise GeneratorError("no usable fonts found; install fonts-noto-cjk and fonts-dejavu-core",
                             code="FONT_MISSING", retryable=False)
    return chains


def split_runs(text: str, chain: tuple[FontFace, ...], missing: set[str] | None = None
               ) -> list[tuple[FontFace, str]]:
    """``text`` as runs of (face, characters) where each face has every character of its run.

    An emoji goes whole to the chain's colour face when it has one that covers it. A character
    no face has is replaced by ``?`` and added to ``missing``.
    """
    runs: list[tuple[FontFace, str]] = []
    for cluster in clusters(text):
        for face, piece in _place(cluster, chain, missing):
            if runs and runs[-1][0] == face:
                runs[-1] = (face, runs[-1][1] + piece)
            else:
                runs.append((face, piece))
    return runs


def _place(cluster: str, chain: tuple[FontFace, ...], missing: set[str] | None) -> list[tuple[FontFace, str]]:
    if wants_colour(cluster):
        colour = next((f for f in chain if f.bitmap_size and all(f.covers(ch) for ch in cluster)), None)
        if colour is not None:
            return [(colour, cluster)]
    placed = []
    for ch in cluster:
        if ch in INVISIBLE:
            continue  # a selector or joiner left over from an emoji drawn as text: no ink either way
        face = next((f for f in chain if f.covers(ch)), None)
        if face is None:
            if missing is not None:
                missing.add(ch)
            ch, face = REPLACEMENT, chain[0]
        placed.append((face, ch))
    return placed
