"""The doc-video input model, the default stages, and bad input that must not crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from montage.errors import GeneratorError
from montage.generators.builtin.doc import (
    DOC_VIDEO_APPROVAL_STAGES,
    DOC_VIDEO_STAGES,
    DocVideoInput,
    doc_video_input_model,
    run_doc_video,
    validate_doc_video_input,
)
from montage.generators.builtin.doc.language import canonical_language, resolve_language
from montage.generators.builtin.doc.local import run_stage
from montage.generators.builtin.doc.themes import theme_for_style

SMALL = {"PAGES": {"width": 320, "height": 180}, "RENDER": {"fps": 5}}


def test_stages_are_the_rematrix_pipeline_with_three_gates() -> None:
    assert [s.name for s in DOC_VIDEO_STAGES] == ["PLAN", "OUTLINE", "NARRATION", "PAGES", "RENDER", "MERGE"]
    assert [s.generator for s in DOC_VIDEO_STAGES] == [
        "doc.plan", "doc.outline", "doc.narration", "doc.pages", "doc.render", "doc.merge"]
    assert DOC_VIDEO_APPROVAL_STAGES == ("PLAN", "NARRATION", "PAGES")


@pytest.mark.parametrize(("given", "stored"), [
    ("zh-CN", "zh-CN"), ("zh", "zh-CN"), ("ZH_cn", "zh-CN"), ("cmn", "zh-CN"), ("中文", "zh-CN"),
    ("zh-TW", "zh-TW"), ("en", "en-US"), ("en-us", "en-US"), ("en-GB", "en-GB"), ("klingon", "en-US"),
    (None, None), ("  ", None),
])
def test_language_is_canonical_or_falls_back(given: str | None, stored: str | None) -> None:
    assert DocVideoInput(content="# x", language=given).language == stored


def test_content_must_have_text_and_respect_the_limit() -> None:
    for bad in ("", "   \n  "):
        with pytest.raises(ValidationError) as caught:
            DocVideoInput(content=bad)
        assert caught.value.errors()[0]["loc"] == ("content",)
    small = doc_video_input_model(10)
    with pytest.raises(ValidationError, match="limit is 10"):
        small(content="x" * 11)
    assert small(content="x" * 10).content == "x" * 10
    with pytest.raises(ValidationError, match="limit is 5"):
        validate_doc_video_input({"content": "abcdef"}, max_content_chars=5)


@pytest.mark.parametrize("content", [
    "\x00\x01\x02\x03\xff\xfe" * 50,  # binary garbage
    "!!!???...",  # no words
    "---\n\n***",
    "<img src=\"x.png\">",  # nothing the slides could show
    "[](http://x)",
])
def test_content_the_plan_stage_would_refuse_is_refused_at_submit_naming_content(content: str) -> None:
    with pytest.raises(ValidationError) as caught:
        DocVideoInput(content=content)
    assert caught.value.errors()[0]["loc"] == ("content",)


def test_markdown_with_only_images_is_accepted() -> None:
    assert DocVideoInput(content="![a](a.png)\n\n![b](b.png)").content.startswith("![a]")


def test_style_is_optional_and_blank_means_none() -> None:
    assert DocVideoInput(content="a", style="  ").style is None
    assert DocVideoInput(content="a", style="Google 风格").style == "Google 风格"


def test_unknown_language_falls_back_to_english_with_a_log_line(tmp_path: Path) -> None:
    outputs, ctx = run_stage("PLAN", "doc.plan", tmp_path, {"content": "# Hi\n\nHello there.", "language": "xx-YY"}, {})
    assert outputs["language"] == "en-US"
    assert any("xx-YY" in text and "en-US" in text for _, text in ctx.logs)
    assert canonical_language("xx-YY") is None
    assert resolve_language(None, "深度学习是机器学习的一个分支")[0].code == "zh-CN"


@pytest.mark.parametrize(("style", "theme"), [
    ("Google 风格", "google"), ("dark", "dark"), ("深色", "dark"), ("极简", "minimal"), ("warm paper", "warm"),
    (None, "default"), ("something else", "default"),
])
def test_style_picks_a_theme(style: str | None, theme: str) -> None:
    assert theme_for_style(style)[0].name == theme


@pytest.mark.parametrize("content", [
    "\x00\x01\x02\x03\xff\xfe" * 50,
    bytes(range(256)).decode("latin-1") * 4,
    bytes((n * 7919) % 251 for n in range(4000)).decode("utf-8", errors="replace"),
])
def test_binary_garbage_is_a_clear_error(content: str, tmp_path: Path) -> None:
    with pytest.raises(GeneratorError) as caught:
        run_stage("PLAN", "doc.plan", tmp_path, {"content": content}, {})
    assert caught.value.code in ("CONTENT_NOT_TEXT", "EMPTY_CONTENT")
    assert caught.value.retryable is False


@pytest.mark.parametrize("content", ["", "   ", "<!-- only a comment -->", "---\n\n***"])
def test_content_without_words_is_a_clear_error(content: str, tmp_path: Path) -> None:
    with pytest.raises(GeneratorError) as caught:
        run_stage("PLAN", "doc.plan", tmp_path, {"content": content}, {})
    assert caught.value.code == "EMPTY_CONTENT" and not caught.value.retryable


def test_too_long_content_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError) as caught:
        run_stage("PLAN", "doc.plan", tmp_path, {"content": "word " * 100}, {}, config={"max_content_chars": 100})
    assert caught.value.code == "CONTENT_TOO_LONG"


def test_markdown_with_only_images_renders_a_video(tmp_path: Path) -> None:
    content = "![A cat on a sofa](cat.png)\n\n![](dog.jpg)"
    run = run_doc_video(tmp_path, {"content": content}, configs=SMALL)
    plan = json.loads((tmp_path / run.outputs["PLAN"]["plan"]).read_text(encoding="utf-8"))
    assert plan["title"] == "A cat on a sofa"
    outline = json.loads((tmp_path / run.outputs["OUTLINE"]["outline"]).read_text(encoding="utf-8"))
    images = [e for slide in outline["slides"] for e in slide["elements"] if e["type"] == "image"]
    assert [(e["alt"], e["src"]) for e in images] == [("A cat on a sofa", "cat.png"), ("", "dog.jpg")]
    assert (tmp_path / "final.mp4").stat().st_size > 0


def test_a_lone_title_renders_a_title_slide(tmp_path: Path) -> None:
    run = run_doc_video(tmp_path, {"content": "# Just a title"}, configs=SMALL)
    assert run.outputs["PLAN"]["sections"] == 0 and run.outputs["OUTLINE"]["slides"] == 1
    assert run.outputs["MERGE"]["duration_s"] >= 1.0


def test_text_without_headings_gets_a_title_from_its_first_sentence(tmp_path: Path) -> None:
    outputs, _ = run_stage("PLAN", "doc.plan", tmp_path, {"content": "Just one line of text. And another."}, {})
    assert outputs["title"] == "Just one line of text."


def test_very_long_content_is_split_and_capped(tmp_path: Path) -> None:
    sections = "\n\n".join(f"## Part {n}\n\n" + "A sentence about things. " * 80 for n in range(60))
    content = "# Long\n\n" + sections
    run = run_doc_video(tmp_path, {"content": content}, until="OUTLINE",
                        configs={"PLAN": {"max_sections": 30}, "OUTLINE": {"max_slides": 40}})
    plan = json.loads((tmp_path / run.outputs["PLAN"]["plan"]).read_text(encoding="utf-8"))
    assert len(plan["sections"]) == 30 and len(plan["omitted_sections"]) == 30
    assert run.outputs["OUTLINE"]["slides"] == 40
    outline = json.loads((tmp_path / run.outputs["OUTLINE"]["outline"]).read_text(encoding="utf-8"))
    assert any("(cont. 2)" in s["title"] for s in outline["slides"])
    assert any("left out" in text for _, text in run.contexts["OUTLINE"].logs)


def test_mixed_control_characters_are_cleaned_not_fatal(tmp_path: Path) -> None:
    content = "# Title\x07\n\nSome text\x00 with a bell\x1b and NUL.\r\n\r\n- item\tone"
    outputs, _ = run_stage("PLAN", "doc.plan", tmp_path, {"content": content}, {})
    plan = json.loads((tmp_path / outputs["plan"]).read_text(encoding="utf-8"))
    assert plan["title"] == "Title"
    text = json.dumps(plan)
    assert "\\u0000" not in text and "\\u001b" not in text
