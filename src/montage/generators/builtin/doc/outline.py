"""doc.outline: plan → ``outline/outline.json``, one slide per section, long ones split.

A slide has ``elements`` to show (paragraph, list, code, table, image, quote, subheading,
agenda) and ``narrate``, the blocks its narration is written from. Code, lists, tables and
images stay elements of their own; a section that is only prose is shown as its key
points while the narration reads the prose. A section too tall for one slide continues on
the next ("… (cont. 2)"), splitting lists by item, code by line and tables by row.
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import Field

from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.doc.files import (
    read_json,
    revision_record,
    stage_output,
    version_of,
    versioned,
    write_json,
)
from montage.generators.builtin.doc.language import language_by_code
from montage.generators.builtin.doc.llm import (
    ChatSettings,
    chat_json,
    chat_settings,
    clip_for_prompt,
    feedback_prompt,
    strings,
)
from montage.generators.builtin.doc.markdown import Block
from montage.generators.builtin.doc.phrases import phrase
from montage.generators.builtin.doc.text import split_sentences, width_units
from montage.generators.registry import register

OUTLINE_FILE = "outline/outline.json"


class OutlineConfig(GeneratorConfig):
    """Parameters of doc.outline."""

    max_slides: int = Field(80, ge=2, le=1000, description="Slides beyond this are left out.")
    slide_lines: float = Field(10.0, ge=3, description="Body lines a slide holds at full size.")
    code_lines_per_slide: int = Field(16, ge=4, description="Longer code continues on a new slide.")
    table_rows_per_slide: int = Field(8, ge=2, description="Longer tables continue on a new slide.")
    summarize_prose_units: int = Field(
        360, ge=0, description="Prose-only sections longer than this show their key points…")
    summarize_prose_max_units: int = Field(
        1600, ge=0, description="…unless longer than this: then the prose itself continues over slides.")
    title_slide: bool = True


@register
class OutlineGenerator:
    """Lay the plan out as slides."""

    name = "doc.outline"
    Config = OutlineConfig

    def run(self, ctx: StageContext, config: OutlineConfig) -> dict[str, Any]:
        plan_out = stage_output(ctx, "doc.plan")
        plan = read_json(ctx, plan_out["plan"])
        family = language_by_code(plan.get("language")).family
        version = version_of(ctx)
        slides: list[dict[str, Any]] = []
        if config.title_slide:
            slides.append(_title_slide(plan))
        for section in plan["sections"]:
            ctx.check_cancelled()
            slides.extend(section_slides(section, family, config))
        warnings = _cap_slides(slides, config.max_slides)
        for number, slide in enumerate(slides, 1):
            slide["index"] = number
        settings = chat_settings(ctx)
        if settings is not None:
            ctx.progress(40, "asking the language model for slide text")
            refine_outline(settings, ctx, slides, plan)
        for warning in warnings:
            ctx.log(warning, "warning")
        outline = {
            "title": plan["title"], "language": plan["language"], "style": plan.get("style"),
            "theme": plan.get("theme"), "plan": plan_out["plan"], "slides": slides,
            "source": "llm" if settings else "builtin", "warnings": warnings, **revision_record(ctx, version),
        }
        relpath = write_json(ctx, versioned(OUTLINE_FILE, version), outline, "outline")
        ctx.progress(100, f"{len(slides)} slides")
        return {"kind": self.name, "outline": relpath, "version": version, "slides": len(slides),
                "title": plan["title"], "language": plan["language"]}


def _title_slide(plan: dict[str, Any]) -> dict[str, Any]:
    headings = [s["heading"] for s in plan["sections"] if not s.get("intro")]
    elements: list[Block] = [{"type": "agenda", "items": headings[:8]}] if len(headings) > 1 else []
    return {"kind": "title", "section": None, "title": plan["title"], "part": 1, "parts": 1,
            "elements": elements, "narrate": [], "key_points": headings}


def _cap_slides(slides: list[dict[str, Any]], limit: int) -> list[str]:
    if len(slides) <= limit:
        return []
    dropped = len(slides) - limit
    del slides[limit:]
    return [f"{dropped} slides beyond the limit of {limit} were left out"]


def section_slides(section: dict[str, Any], family: str, config: OutlineConfig) -> list[dict[str, Any]]:
    """The slides of one planned section."""
    blocks: list[Block] = section["blocks"]
    elements = _display_elements(section, blocks, config)
    pages = paginate(elements, config)
    heading = section["heading"]
    slides = []
    for part, page in enumerate(pages, 1):
        title = heading if part == 1 else phrase(family, "continued", title=heading, part=part)
        narrate = page if elements is blocks else (blocks if part == 1 else [])
        slides.append({"kind": "content", "section": section["index"], "title": title, "heading": heading,
                       "part": part, "parts": len(pages), "elements": page, "narrate": narrate,
                       "key_points": section.get("key_points", []) if part == 1 else []})
    return slides


def _display_elements(section: dict[str, Any], blocks: list[Block], config: OutlineConfig) -> list[Block]:
    prose = all(b["type"] in ("paragraph", "quote") for b in blocks)
    units = sum(width_units(b.get("text", "")) for b in blocks)
    points = section.get("key_points") or []
    if blocks and prose and points and config.summarize_prose_units < units <= config.summarize_prose_max_units:
        return [{"type": "list", "ordered": False, "items": [{"text": p, "level": 0} for p in points]}]
    return blocks


# --- sizing and splitting --------------------------------------------------------------


def element_lines(element: Block) -> float:
    """About how many body lines ``element`` takes on a slide at full size."""
    kind = element["type"]
    if kind in ("paragraph", "quote"):
        return math.ceil(width_units(element["text"]) / 70) + 0.4
    if kind == "list":
        return sum(math.ceil(width_units(i["text"]) / 64) + 0.25 for i in element["items"])
    if kind == "code":
        lines = element["code"].split("\n")
        return 0.72 * sum(max(1, math.ceil(len(line) / 90)) for line in lines) + 0.8
    if kind == "table":
        columns = max(1, len(element["header"]))
        capacity = max(8, 130 // columns)
        rows = [element["header"], *element["rows"]]
        return sum(1.1 * max([math.ceil(width_units(c) / capacity) for c in r] or [1]) for r in rows) + 0.4
    if kind == "image":
        return 5.5
    if kind == "agenda":
        return float(len(element["items"]))
    return 1.3


def split_element(element: Block, config: OutlineConfig) -> list[Block]:
    """``element`` in pieces that each fit on one slide."""
    splitter = _SPLITTERS.get(element["type"])
    if splitter is None or element_lines(element) <= config.slide_lines:
        return [element]
    return splitter(element, config)


def _split_paragraph(element: Block, config: OutlineConfig) -> list[Block]:
    pieces: list[Block] = []
    current: list[str] = []
    for sentence in split_sentences(element["text"]) or [element["text"]]:
        candidate = {"type": element["type"], "text": " ".join([*current, sentence])}
        if current and element_lines(candidate) > config.slide_lines:
            pieces.append({"type": element["type"], "text": " ".join(current)})
            current = []
        current.append(sentence)
    pieces.append({"type": element["type"], "text": " ".join(current)})
    return pieces


def _split_list(element: Block, config: OutlineConfig) -> list[Block]:
    pieces: list[Block] = []
    items: list[dict[str, Any]] = []
    for item in element["items"]:
        if items and element_lines({"type": "list", "items": [*items, item]}) > config.slide_lines:
            pieces.append({**element, "items": items})
            items = []
        items.append(item)
    pieces.append({**element, "items": items})
    return pieces


def _split_code(element: Block, config: OutlineConfig) -> list[Block]:
    lines = element["code"].split("\n")
    step = config.code_lines_per_slide
    return [{**element, "code": "\n".join(lines[i:i + step])} for i in range(0, len(lines), step)]


def _split_table(element: Block, config: OutlineConfig) -> list[Block]:
    rows = element["rows"]
    step = config.table_rows_per_slide
    return [{**element, "rows": rows[i:i + step]} for i in range(0, len(rows), step)] or [element]


_SPLITTERS = {"paragraph": _split_paragraph, "quote": _split_paragraph, "list": _split_list,
              "code": _split_code, "table": _split_table}


def paginate(elements: list[Block], config: OutlineConfig) -> list[list[Block]]:
    """Elements packed into pages of at most ``slide_lines`` lines (one page at least)."""
    pages: list[list[Block]] = [[]]
    used = 0.0
    for element in elements:
        for piece in split_element(element, config):
            lines = element_lines(piece)
            if pages[-1] and used + lines > config.slide_lines:
                pages.append([])
                used = 0.0
            pages[-1].append(piece)
            used += lines
    return pages


# --- language model --------------------------------------------------------------------

_OUTLINE_SYSTEM = (
    "You write slide text for an explainer video. For each slide you get its title and text. "
    'Answer with JSON only: {"slides": [{"index": int, "title": str, "bullets": [str]}]}. '
    "Keep every index, write in the slides' language, at most 6 short bullets per slide."
)


def refine_outline(settings: ChatSettings, ctx: StageContext, slides: list[dict[str, Any]],
                   plan: dict[str, Any]) -> None:
    """Let the model write titles and bullets; code, tables and images stay as they are."""
    brief = [
        {"index": s["index"], "title": s["title"],
         "text": " ".join(e.get("text", "") for e in s["elements"] if e["type"] in ("paragraph", "quote"))}
        for s in slides if s["kind"] == "content"
    ]
    user = f"Language: {plan['language']}.\nSlides:\n" + clip_for_prompt(json.dumps(brief, ensure_ascii=False))
    answer = chat_json(settings, _OUTLINE_SYSTEM, user + feedback_prompt(ctx))
    apply_outline_answer(slides, answer)
    ctx.log(f"outline refined by {settings.model}")


def apply_outline_answer(slides: list[dict[str, Any]], answer: Any) -> None:
    """Merge a model's slide answer: prose becomes its bullets, the narration keeps the prose."""
    items = answer.get("slides") if isinstance(answer, dict) else answer
    by_index = {s["index"]: s for s in slides}
    for item in items if isinstance(items, list) else []:
        slide = by_index.get(item.get("index")) if isinstance(item, dict) else None
        if slide is None or slide["kind"] != "content":
            continue
        if isinstance(item.get("title"), str) and item["title"].strip():
            slide["title"] = item["title"].strip()
        bullets = strings(item.get("bullets"), limit=6)
        prose = [e for e in slide["elements"] if e["type"] in ("paragraph", "quote")]
        if bullets and prose:
            others = [e for e in slide["elements"] if e["type"] not in ("paragraph", "quote")]
            slide["narrate"] = slide["narrate"] or slide["elements"]
            bullet_list = {"type": "list", "ordered": False, "items": [{"text": b, "level": 0} for b in bullets]}
            slide["elements"] = [bullet_list, *others]
