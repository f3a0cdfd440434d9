"""Markdown → a document of sections and blocks, with markdown-it-py.

A block is a small JSON-ready dict, one of::

    {"type": "paragraph", "text": str}
    {"type": "list", "ordered": bool, "items": [{"text": str, "level": int}]}
    {"type": "code", "language": str, "code": str}
    {"type": "table", "header": [str], "rows": [[str]]}
    {"type": "image", "alt": str, "src": str}
    {"type": "quote", "text": str}
    {"type": "subheading", "text": str}

The document title is the only top-level heading when there is one; sections start at the
next heading level present. Text before the first section heading becomes an intro section.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from montage.errors import GeneratorError
from montage.generators.builtin.doc.text import is_wide, shorten, split_sentences

Block = dict[str, Any]


@dataclass
class Section:
    """A heading and the blocks under it."""

    heading: str
    blocks: list[Block] = field(default_factory=list)
    intro: bool = False


@dataclass
class Document:
    """A parsed Markdown document."""

    title: str
    sections: list[Section]
    #: where the title came from: "heading", "text", "image" or "none"
    title_source: str = "heading"


@dataclass
class _Heading:
    level: int
    text: str


_Item = _Heading | dict[str, Any]


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def parse_markdown(source: str) -> Document:
    """Parse Markdown into a :class:`Document`."""
    root = SyntaxTreeNode(_parser().parse(source))
    items: list[_Item] = []
    for node in root.children:
        items.extend(_convert_block(node))
    return _group_sections(items)


def parse_presentable(source: str) -> Document:
    """Parse ``source`` (already cleaned); ``EMPTY_CONTENT`` when nothing in it can be shown."""
    document = parse_markdown(source)
    if not document.sections and not document.title:
        raise GeneratorError("the Markdown has no text, lists, code, tables or images to present",
                             code="EMPTY_CONTENT", retryable=False)
    return document


# --- inline text -----------------------------------------------------------------------


def inline_text(node: SyntaxTreeNode, images: list[Block] | None = None) -> str:
    """Plain text of an inline node; images found are appended to ``images``."""
    parts: list[str] = []
    _collect_inline(node, parts, images)
    return _join_soft_breaks("".join(parts)).strip()


def _collect_inline(node: SyntaxTreeNode, parts: list[str], images: list[Block] | None) -> None:
    for child in node.children:
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append("\x00")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "image":
            if images is not None:
                alt = inline_text(child)
                images.append({"type": "image", "alt": alt, "src": str(child.attrs.get("src", ""))})
        elif kind != "html_inline":
            _collect_inline(child, parts, images)


def _join_soft_breaks(text: str) -> str:
    # A line break inside a Chinese paragraph joins without a space; elsewhere it is a space.
    def join(match: re.Match[str]) -> str:
        before, after = match.group(1), match.group(2)
        return before + ("" if is_wide(before) and is_wide(after) else " ") + after

    text = re.sub(r"(.)\x00(.)", join, text)
    return text.replace("\x00", " ")


# --- blocks ----------------------------------------------------------------------------


def _convert_heading(node: SyntaxTreeNode) -> list[_Item]:
    level = int(node.tag[1:]) if node.tag[1:].isdigit() else 1
    text = inline_text(node.children[0]) if node.children else ""
    return [_Heading(level, text)] if text else []


def _convert_paragraph(node: SyntaxTreeNode) -> list[_Item]:
    images: list[Block] = []
    text = inline_text(node.children[0], images) if node.children else ""
    out: list[_Item] = [{"type": "paragraph", "text": text}] if text else []
    return out + list(images)


def _convert_list(node: SyntaxTreeNode) -> list[_Item]:
    items: list[dict[str, Any]] = []
    extra: list[_Item] = []
    _collect_list_items(node, 0, items, extra)
    out: list[_Item] = [{"type": "list", "ordered": node.type == "ordered_list", "items": items}]
    return (out if items else []) + extra


def _collect_list_items(node: SyntaxTreeNode, level: int, items: list[dict[str, Any]],
                        extra: list[_Item]) -> None:
    for item in node.children:
        texts: list[str] = []
        nested: list[SyntaxTreeNode] = []
        for child in item.children:
            if child.type == "paragraph":
                images: list[Block] = []
                texts.append(inline_text(child.children[0], images) if child.children else "")
                extra.extend(images)
            elif child.type in ("bullet_list", "ordered_list"):
                nested.append(child)
            else:
                extra.extend(_convert_block(child))
        text = " ".join(t for t in texts if t)
        if text:
            items.append({"text": text, "level": min(level, 3)})
        for sub in nested:
            _collect_list_items(sub, level + 1, items, extra)


def _convert_code(node: SyntaxTreeNode) -> list[_Item]:
    code = node.content.rstrip("\n")
    language = (node.info or "").strip().split(" ")[0].lower() if node.type == "fence" else ""
    return [{"type": "code", "language": language, "code": code}] if code.strip() else []


def _convert_table(node: SyntaxTreeNode) -> list[_Item]:
    header: list[str] = []
    rows: list[list[str]] = []
    for part in node.children:
        for row in part.children:
            cells = [inline_text(cell.children[0]) if cell.children else "" for cell in row.children]
            if part.type == "thead":
                header = cells
            else:
                rows.append(cells)
    if not header and rows:
        header, rows = rows[0], rows[1:]
    return [{"type": "table", "header": header, "rows": rows}] if header else []


def _convert_quote(node: SyntaxTreeNode) -> list[_Item]:
    texts = []
    for child in node.children:
        for block in _convert_block(child):
            if isinstance(block, dict) and block.get("text"):
                texts.append(block["text"])
    return [{"type": "quote", "text": " ".join(texts)}] if texts else []


def _convert_html(node: SyntaxTreeNode) -> list[_Item]:
    text = " ".join(re.sub(r"<[^>]*>", " ", node.content).split())
    return [{"type": "paragraph", "text": text}] if text else []


_CONVERTERS: dict[str, Callable[[SyntaxTreeNode], list[_Item]]] = {
    "heading": _convert_heading,
    "paragraph": _convert_paragraph,
    "bullet_list": _convert_list,
    "ordered_list": _convert_list,
    "fence": _convert_code,
    "code_block": _convert_code,
    "table": _convert_table,
    "blockquote": _convert_quote,
    "html_block": _convert_html,
}


def _convert_block(node: SyntaxTreeNode) -> list[_Item]:
    converter = _CONVERTERS.get(node.type)
    return converter(node) if converter else []


# --- sections --------------------------------------------------------------------------


def _group_sections(items: list[_Item]) -> Document:
    levels = [item.level for item in items if isinstance(item, _Heading)]
    title, title_source, split_level = _choose_title(items, levels)
    sections: list[Section] = []
    current: Section | None = None
    title_heading = _first_heading(items) if title_source == "heading" else None
    for item in items:
        if isinstance(item, _Heading):
            if item is title_heading:
                continue
            if split_level is not None and item.level <= split_level:
                current = Section(heading=item.text)
                sections.append(current)
                continue
            item = {"type": "subheading", "text": item.text}
        if current is None:
            current = Section(heading=title, intro=True)
            sections.append(current)
        current.blocks.append(item)
    return Document(title=title, sections=sections, title_source=title_source)


def _first_heading(items: list[_Item]) -> _Heading | None:
    return next((item for item in items if isinstance(item, _Heading)), None)


def _choose_title(items: list[_Item], levels: list[int]) -> tuple[str, str, int | None]:
    first = _first_heading(items)
    if first is not None:
        top = min(levels)
        rest = levels[1:]
        if first.level == top and levels.count(top) == 1:
            return first.text, "heading", (min(rest) if rest else None)
        return first.text, "heading_repeated", top
    for item in items:
        if isinstance(item, dict) and item.get("type") in ("paragraph", "quote"):
            sentences = split_sentences(item["text"]) or [item["text"]]
            return shorten(sentences[0], 48), "text", None
    for item in items:
        if isinstance(item, dict) and item.get("type") == "image" and item.get("alt"):
            return shorten(item["alt"], 48), "image", None
    return "", "none", None
