"""Syntax colours for code blocks, from Pygments tokens."""

from __future__ import annotations

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import Comment, Keyword, Name, Number, String, _TokenType
from pygments.util import ClassNotFound

from montage.generators.builtin.doc.themes import RGB, CodeColors

Segment = tuple[str, RGB]
MAX_CODE_CHARS = 20_000


def _lexer(language: str) -> Lexer | None:
    # No guessing for unlabelled code: a wrong guess colours worse than no colour.
    if not language:
        return None
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _color(token: _TokenType, colors: CodeColors) -> RGB:
    if token in Comment:
        return colors.comment
    if token in Keyword:
        return colors.keyword
    if token in String:
        return colors.string
    if token in Number:
        return colors.number
    if token in Name.Function or token in Name.Class or token in Name.Builtin:
        return colors.function
    return colors.text


def highlight_code(code: str, language: str, colors: CodeColors) -> list[list[Segment]]:
    """``code`` as lines of (text, colour) segments; tabs become four spaces."""
    code = code[:MAX_CODE_CHARS].replace("\t", "    ")
    lexer = _lexer(language)
    pairs = lexer.get_tokens(code) if lexer is not None else [(Name, code)]
    lines: list[list[Segment]] = [[]]
    for token, value in pairs:
        color = _color(token, colors)
        for index, piece in enumerate(value.split("\n")):
            if index:
                lines.append([])
            if piece:
                lines[-1].append((piece, color))
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines
