"""The built-in narration writer: a spoken script for each slide, from its blocks.

Code is described, never read out; tables are summarised; lists are read item by item.
``detail`` 2 and up (a re-run after a reviewer's reject) adds an introduction per slide,
ordinals for list items, what code defines, a sample table row and a recap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from montage.generators.builtin.doc.markdown import Block
from montage.generators.builtin.doc.phrases import join_list, phrase

_END_PUNCT = "。！？!?.…；;：:"
_DEFINITION = re.compile(
    r"^\s*(?:async\s+)?(?:def|class|function|fn|func|interface|struct|type)\s+([A-Za-z_][\w]*)", re.M)


def finish_sentence(text: str, family: str) -> str:
    """``text`` ending with sentence punctuation."""
    text = " ".join(text.split())
    if not text or text[-1] in _END_PUNCT:
        return text
    return text + phrase(family, "sentence_end")


def join_sentences(sentences: list[str], family: str) -> str:
    """Sentences joined the way the language writes them."""
    glue = "" if family == "zh" else " "
    return glue.join(s for s in sentences if s)


def slide_script(slide: dict[str, Any], outline: dict[str, Any], family: str, detail: int,
                 is_last: bool) -> str:
    """The narration for one slide."""
    if slide["kind"] == "title":
        sentences = _title_sentences(slide, outline, family, detail)
    else:
        sentences = _content_sentences(slide, family, detail)
    if is_last:
        sentences.append(phrase(family, "closing", title=outline["title"]))
    return join_sentences([finish_sentence(s, family) for s in sentences], family)


def _title_sentences(slide: dict[str, Any], outline: dict[str, Any], family: str, detail: int) -> list[str]:
    sentences = [phrase(family, "opening", title=outline["title"])]
    headings = slide.get("key_points") or []
    if len(headings) > 1:
        shown = headings if detail > 1 else headings[:8]
        sentences.append(phrase(family, "opening_agenda", count=len(headings),
                                headings=join_list(family, shown)))
    return sentences


def _content_sentences(slide: dict[str, Any], family: str, detail: int) -> list[str]:
    heading = slide.get("heading") or slide["title"]
    if slide.get("part", 1) > 1:
        sentences = [phrase(family, "continued_intro", heading=heading)]
    else:
        key = "section_intro_detail" if detail > 1 else "section_intro"
        sentences = [phrase(family, key, heading=heading)]
    for block in slide.get("narrate") or []:
        writer = _BLOCK_WRITERS.get(block["type"])
        if writer is not None:
            sentences.extend(writer(block, family, detail))
    points = slide.get("key_points") or []
    if detail > 1 and points:
        sentences.append(phrase(family, "recap", points=join_list(family, points[:4])))
    return sentences


def _paragraph(block: Block, family: str, detail: int) -> list[str]:
    return [block["text"]]


def _quote(block: Block, family: str, detail: int) -> list[str]:
    return [phrase(family, "quote", text=block["text"])]


def _subheading(block: Block, family: str, detail: int) -> list[str]:
    return [block["text"]]


def _list(block: Block, family: str, detail: int) -> list[str]:
    sentences = [phrase(family, "list_lead")] if detail > 1 else []
    number = 0
    for item in block["items"]:
        text = item["text"]
        if detail > 1 and item["level"] == 0:
            number += 1
            text = phrase(family, "ordinal", n=number) + text
        sentences.append(text)
    return sentences


def _code(block: Block, family: str, detail: int) -> list[str]:
    lines = len(block["code"].split("\n"))
    language = (block.get("language") or "").capitalize()
    sentences = [phrase(family, "code", language=language, lines=lines) if language
                 else phrase(family, "code_plain", lines=lines)]
    names = _DEFINITION.findall(block["code"])
    if detail > 1 and names:
        sentences.append(phrase(family, "code_defines", names=join_list(family, names[:5])))
    return sentences


def _table(block: Block, family: str, detail: int) -> list[str]:
    header = [h for h in block["header"] if h]
    sentences = [phrase(family, "table", rows=len(block["rows"]), columns=join_list(family, header[:6]))]
    if detail > 1 and block["rows"]:
        cells = [f"{h} {v}" for h, v in zip(block["header"], block["rows"][0], strict=False) if v]
        sentences.append(phrase(family, "table_row", cells=join_list(family, cells[:6])))
    return sentences


def _image(block: Block, family: str, detail: int) -> list[str]:
    alt = block.get("alt") or ""
    return [phrase(family, "image", alt=alt) if alt else phrase(family, "image_plain")]


_BLOCK_WRITERS: dict[str, Callable[[Block, str, int], list[str]]] = {
    "paragraph": _paragraph, "quote": _quote, "subheading": _subheading, "list": _list,
    "code": _code, "table": _table, "image": _image,
}
