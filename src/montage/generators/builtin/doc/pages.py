"""doc.pages: outline → one PNG per slide (1920×1080 by default) and ``pages/pages.json``.

The theme follows the job's ``style``; a re-run after a reviewer's reject moves to the
theme's next layout (and to another theme when the feedback names one, e.g. "深色").
``pages.json`` lists, per slide, the characters each font face drew, so the glyph coverage
of every slide can be checked afterwards.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from montage.errors import GeneratorError
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.doc.files import (
    read_json,
    revision_record,
    stage_output,
    version_of,
    versioned,
    write_json,
)
from montage.generators.builtin.doc.fonts import FontChains, font_chains, undrawn_warning
from montage.generators.builtin.doc.language import language_by_code
from montage.generators.builtin.doc.slidebase import SlideStyle
from montage.generators.builtin.doc.slides import render_slide
from montage.generators.builtin.doc.text import has_cjk
from montage.generators.builtin.doc.textlayout import GlyphLog
from montage.generators.builtin.doc.themes import Theme, layout_for_version, theme_for_style
from montage.generators.registry import register

PAGES_FILE = "pages/pages.json"
#: Feedback picks a theme only when it talks about the look, not merely uses a word like "simple".
_THEME_WORDS = ("theme", "style", "color", "colour", "主题", "风格", "配色", "颜色", "色调", "背景")


class PagesConfig(GeneratorConfig):
    """Parameters of doc.pages."""

    width: int = Field(1920, ge=320, le=7680, description="Slide width in pixels.")
    height: int = Field(1080, ge=180, le=4320, description="Slide height in pixels.")
    theme: str | None = Field(None, description="A theme name or style words; overrides the job's style.")
    png_compress_level: int = Field(1, ge=0, le=9, description="zlib level: 1 is fast, 9 is small.")


@register
class PagesGenerator:
    """Draw every slide of the outline."""

    name = "doc.pages"
    Config = PagesConfig

    def run(self, ctx: StageContext, config: PagesConfig) -> dict[str, Any]:
        outline_out = stage_output(ctx, "doc.outline")
        outline = read_json(ctx, outline_out["outline"])
        language = language_by_code(outline.get("language"))
        version = version_of(ctx)
        theme = choose_theme(ctx, config, outline)
        layout = layout_for_version(theme, version)
        chains = font_chains(language.cjk_variant)
        _require_cjk_font(outline, chains)
        slides = outline["slides"]
        entries = []
        for number, slide in enumerate(slides, 1):
            ctx.check_cancelled()
            ctx.progress(100 * (number - 1) / len(slides), f"drawing slide {number}/{len(slides)}")
            entries.append(_draw_slide(ctx, slide, outline, len(slides), (theme, layout, chains), version, config))
        pages = {"title": outline["title"], "theme": theme.name, "layout": layout, "width": config.width,
                 "height": config.height, "slides": entries, "outline": outline_out["outline"],
                 **revision_record(ctx, version)}
        relpath = write_json(ctx, versioned(PAGES_FILE, version), pages, "pages")
        ctx.progress(100, f"{len(entries)} slides drawn")
        return {"kind": self.name, "pages": relpath, "version": version, "images": [e["image"] for e in entries],
                "width": config.width, "height": config.height, "theme": theme.name, "layout": layout,
                "feedback": ctx.feedback}


def choose_theme(ctx: StageContext, config: PagesConfig, outline: dict[str, Any]) -> Theme:
    """The configured theme, else one the reviewer's feedback names, else the job's style."""
    if ctx.feedback and any(word in ctx.feedback.lower() for word in _THEME_WORDS):
        named, known = theme_for_style(ctx.feedback)
        if known:
            ctx.log(f"feedback asks for the {named.name} theme")
            return named
    style = config.theme or outline.get("style") or ctx.input.get("style")
    theme, known = theme_for_style(style)
    if not known:
        ctx.log(f"style {style!r} matches no theme; using {theme.name}", "warning")
    return theme


def _require_cjk_font(outline: dict[str, Any], chains: FontChains) -> None:
    if chains.has_cjk:
        return
    text = " ".join(str(s.get("title", "")) + " " + str(s.get("elements", "")) for s in outline["slides"])
    if has_cjk(text):
        raise GeneratorError("the slides contain Chinese/Japanese/Korean text and no CJK font is installed "
                             "(install fonts-noto-cjk)", code="FONT_MISSING", retryable=False)


def _draw_slide(ctx: StageContext, slide: dict[str, Any], outline: dict[str, Any], total: int,
                look: tuple[Theme, str, FontChains], version: int, config: PagesConfig) -> dict[str, Any]:
    theme, layout, chains = look
    log = GlyphLog()
    style = SlideStyle(theme=theme, chains=chains, log=log, unit=config.height / 1080)
    image, result = render_slide(slide, outline["title"], total, style, (config.width, config.height), layout)
    relpath = versioned(f"pages/slide_{slide['index']:02d}.png", version)
    image.save(ctx.path(relpath), "PNG", compress_level=config.png_compress_level)
    ctx.add_artifact(relpath, "page", "image/png")
    if log.missing:
        ctx.log(f"slide {slide['index']}: {undrawn_warning(log.missing)}", "warning")
    if result.dropped:
        ctx.log(f"slide {slide['index']}: {result.dropped} elements did not fit and were left out", "warning")
    return {"index": slide["index"], "image": relpath, "title": slide["title"], "scale": result.scale,
            "dropped": result.dropped, "missing_glyphs": sorted(log.missing),
            "fonts": {key: "".join(sorted(chars)) for key, chars in log.used.items()}}
