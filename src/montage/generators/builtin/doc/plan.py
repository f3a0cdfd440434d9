"""doc.plan: Markdown → ``plan/plan.json`` (title, sections, key points, duration, style).

The built-in planner parses the Markdown and picks key points from each section; with a
language model configured, the model rewrites headings and key points. A re-run after a
reviewer's reject plans in more detail (more and longer key points) and records the
feedback.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import Field

from montage.errors import GeneratorError
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.doc.files import (
    previous_version,
    revision_record,
    version_of,
    versioned,
    write_json,
)
from montage.generators.builtin.doc.language import Language, resolve_language
from montage.generators.builtin.doc.llm import (
    ChatSettings,
    chat_json,
    chat_settings,
    clip_for_prompt,
    feedback_prompt,
    strings,
)
from montage.generators.builtin.doc.markdown import Block, Document, Section, parse_presentable
from montage.generators.builtin.doc.phrases import join_list, phrase
from montage.generators.builtin.doc.text import (
    clean_content,
    key_phrase,
    shorten,
    split_sentences,
    width_units,
)
from montage.generators.builtin.doc.themes import theme_for_style
from montage.generators.registry import register

PLAN_FILE = "plan/plan.json"


class PlanConfig(GeneratorConfig):
    """Parameters of doc.plan."""

    max_content_chars: int = Field(200_000, ge=1, description="Longer content is refused.")
    max_sections: int = Field(40, ge=1, le=500, description="Sections beyond this are left out.")
    key_points: int = Field(3, ge=1, le=20, description="Key points per section on a first run.")
    zh_chars_per_second: float = Field(3.5, gt=0, description="Speaking rate for the estimate.")
    en_words_per_second: float = Field(2.3, gt=0, description="Speaking rate for the estimate.")


@register
class PlanGenerator:
    """Plan the video: title, sections and their key points."""

    name = "doc.plan"
    Config = PlanConfig

    def run(self, ctx: StageContext, config: PlanConfig) -> dict[str, Any]:
        content = _checked_content(ctx.input.get("content"), config)
        language, note = resolve_language(ctx.input.get("language"), content)
        if note:
            ctx.log(note, "warning")
        ctx.progress(10, "parsing Markdown")
        document = parse_presentable(content)
        version = version_of(ctx)
        style = ctx.input.get("style") or None
        plan = build_plan(document, language, style, version, config)
        settings = chat_settings(ctx)
        if settings is not None:
            ctx.progress(40, "asking the language model for key points")
            refine_plan(settings, ctx, plan, previous_version(ctx, PLAN_FILE, version))
        plan.update(revision_record(ctx, version))
        for warning in plan["warnings"]:
            ctx.log(warning, "warning")
        relpath = write_json(ctx, versioned(PLAN_FILE, version), plan, "plan")
        ctx.progress(100, f"planned {len(plan['sections'])} sections")
        return {
            "kind": self.name, "plan": relpath, "version": version, "title": plan["title"],
            "language": plan["language"], "style": plan["style"], "theme": plan["theme"],
            "sections": len(plan["sections"]), "target_duration_s": plan["target_duration_s"],
            "source": plan["source"], "feedback": ctx.feedback,
        }


def _checked_content(content: Any, config: PlanConfig) -> str:
    if content is None or (isinstance(content, str) and not content.strip()):
        raise GeneratorError("content is empty", code="EMPTY_CONTENT", retryable=False, field="content")
    if isinstance(content, str | bytes) and len(content) > config.max_content_chars:
        raise GeneratorError(
            f"content is {len(content)} characters; the limit is {config.max_content_chars}",
            code="CONTENT_TOO_LONG", retryable=False, field="content", limit=config.max_content_chars,
        )
    return clean_content(content)


def build_plan(document: Document, language: Language, style: str | None, version: int,
               config: PlanConfig) -> dict[str, Any]:
    """The built-in plan of ``document``; ``version`` > 1 plans in more detail."""
    family = language.family
    sections = document.sections[: config.max_sections]
    omitted = [s.heading for s in document.sections[config.max_sections:]]
    warnings = [f"{len(omitted)} sections beyond the first {config.max_sections} were left out"] if omitted else []
    count = config.key_points + 2 * (version - 1)
    planned = [_plan_section(i, s, family, count, version, config) for i, s in enumerate(sections, 1)]
    theme, known = theme_for_style(style)
    if not known:
        warnings.append(f"style {style!r} has no matching theme; using {theme.name}")
    title = document.title or phrase(family, "untitled")
    return {
        "title": title, "language": language.code, "style": style, "theme": theme.name,
        "detail": version, "source": "builtin",
        "target_duration_s": round(sum(s["estimated_seconds"] for s in planned) + 8.0, 1),
        "sections": planned, "omitted_sections": omitted, "warnings": warnings,
    }


def _plan_section(index: int, section: Section, family: str, count: int, version: int,
                  config: PlanConfig) -> dict[str, Any]:
    max_units = 64 if version == 1 else 160
    candidates: list[str] = []
    for block in section.blocks:
        candidates.extend(_key_point_candidates(block, family, version))
    points = _unique([key_phrase(c, max_units) for c in candidates if c.strip()])[:count]
    planned: dict[str, Any] = {
        "index": index, "heading": section.heading or phrase(family, "untitled"), "intro": section.intro,
        "key_points": points, "blocks": section.blocks,
        "estimated_seconds": round(_speech_seconds(section, family, config), 1),
    }
    if version > 1:
        # A more detailed plan: every sentence and list item of the section, uncut.
        planned["details"] = _unique([" ".join(c.split()) for c in candidates if c.strip()])[:40]
    return planned


def _key_point_candidates(block: Block, family: str, version: int) -> list[str]:
    kind = block["type"]
    if kind in ("paragraph", "quote"):
        return split_sentences(block["text"])
    if kind == "list":
        return [item["text"] for item in block["items"] if item["level"] == 0 or version > 1]
    if kind == "subheading":
        return [block["text"]]
    if kind == "code":
        lang = block.get("language") or ""
        return [phrase(family, "code_point", language=lang.capitalize()) if lang
                else phrase(family, "code_point_plain")]
    if kind == "table":
        return [phrase(family, "table_point", columns=join_list(family, block["header"][:5]))]
    if kind == "image":
        return [phrase(family, "image_point", alt=block["alt"]) if block.get("alt")
                else phrase(family, "image_untitled")]
    return []


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _speech_seconds(section: Section, family: str, config: PlanConfig) -> float:
    text = " ".join([section.heading] + [_block_text(b) for b in section.blocks])
    if family == "zh":
        return width_units(text) / 2 / config.zh_chars_per_second + 2.5
    return len(re.findall(r"\w+", text)) / config.en_words_per_second + 2.5


def _block_text(block: Block) -> str:
    if block["type"] == "list":
        return " ".join(item["text"] for item in block["items"])
    if block["type"] == "table":
        return " ".join(block["header"])
    return str(block.get("text") or block.get("alt") or "")


# --- language model --------------------------------------------------------------------

_PLAN_SYSTEM = (
    "You plan short explainer videos made from a Markdown document. Answer with JSON only: "
    '{"title": str, "sections": [{"index": int, "heading": str, "key_points": [str]}]}. '
    "Keep every section index you are given, write in the document's language, "
    "and give 3 to 6 concise key points per section."
)


def refine_plan(settings: ChatSettings, ctx: StageContext, plan: dict[str, Any],
                previous: dict[str, Any] | None) -> None:
    """Let the language model rewrite the title, headings and key points of ``plan``."""
    sections = [
        {"index": s["index"], "heading": s["heading"],
         "text": shorten(" ".join(_block_text(b) for b in s["blocks"]), 1200)}
        for s in plan["sections"]
    ]
    user = (f"Language: {plan['language']}. Style: {plan['style'] or 'default'}.\n"
            f"Document title: {plan['title']}\nSections:\n"
            + clip_for_prompt(json.dumps(sections, ensure_ascii=False)))
    if previous:
        previous_points = [{"index": s.get("index"), "key_points": s.get("key_points")}
                           for s in previous.get("sections", [])]
        user += "\nPrevious version's key points:\n" + clip_for_prompt(
            json.dumps(previous_points, ensure_ascii=False), 6000)
    answer = chat_json(settings, _PLAN_SYSTEM, user + feedback_prompt(ctx))
    apply_plan_answer(plan, answer)
    ctx.log(f"plan refined by {settings.model}")


def apply_plan_answer(plan: dict[str, Any], answer: Any) -> None:
    """Merge a model's plan answer into ``plan``; sections the model skipped stay as they were."""
    if not isinstance(answer, dict):
        raise GeneratorError("language model plan is not a JSON object", code="LLM_BAD_RESPONSE")
    if isinstance(answer.get("title"), str) and answer["title"].strip():
        plan["title"] = answer["title"].strip()
    by_index = {s["index"]: s for s in plan["sections"]}
    for item in answer.get("sections") or []:
        target = by_index.get(item.get("index")) if isinstance(item, dict) else None
        if target is None:
            continue
        if isinstance(item.get("heading"), str) and item["heading"].strip():
            target["heading"] = item["heading"].strip()
        points = strings(item.get("key_points"))
        if points:
            target["key_points"] = points
    plan["source"] = "llm"
