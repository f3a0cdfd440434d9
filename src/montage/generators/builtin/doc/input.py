"""The Rematrix doc-video job: its input model and its default stages.

``DocVideoInput`` validates ``{"content", "style", "language"}`` as the Jobs API receives
it. ``language`` is matched against :data:`ACCEPTED_LANGUAGE_CODES` (``zh``, ``zh-CN``,
``cmn``, ``zh-TW``, ``en``, ``en-US``, ``en-GB`` and a few names such as ``中文`` or
``english``) and stored in canonical form; a code outside the list falls back to
``en-US`` rather than failing, because the contract accepts any string there.
``DOC_VIDEO_STAGES`` is the pipeline the engine builds for this job type.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from montage.errors import GeneratorError
from montage.generators.builtin.doc.language import (
    ACCEPTED_LANGUAGE_CODES,
    DEFAULT_LANGUAGE,
    canonical_language,
)
from montage.generators.builtin.doc.markdown import parse_presentable
from montage.generators.builtin.doc.text import clean_content

#: Default cap on ``content`` (characters); the API may pass its own.
DEFAULT_MAX_CONTENT_CHARS = 200_000
MAX_STYLE_CHARS = 200


class DocVideoInput(BaseModel):
    """Input of a Markdown → narrated video job."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)
    #: Longest accepted ``content``; :func:`doc_video_input_model` makes variants with other limits.
    max_content_chars: ClassVar[int] = DEFAULT_MAX_CONTENT_CHARS

    content: str = Field(min_length=1, description="Markdown to turn into a narrated video.")
    style: str | None = Field(default=None, max_length=MAX_STYLE_CHARS, description="Visual style.")
    language: str | None = Field(
        default=None,
        description="Narration language; one of ACCEPTED_LANGUAGE_CODES, else en-US. "
        "None: detected from the content.",
    )

    @field_validator("content")
    @classmethod
    def _content_not_blank(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("content must contain some text")
        limit = _max_chars(cls, info)
        if len(value) > limit:
            raise ValueError(f"content is {len(value)} characters; the limit is {limit}")
        try:  # the PLAN stage's own checks, now: a 400 at submit rather than a job that fails at PLAN
            parse_presentable(clean_content(value))
        except GeneratorError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("style")
    @classmethod
    def _style_blank_is_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    @field_validator("language")
    @classmethod
    def _language_allowed(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return canonical_language(value) or DEFAULT_LANGUAGE


def _max_chars(model: type[BaseModel], info: ValidationInfo) -> int:
    context = info.context if isinstance(info.context, dict) else {}
    given = context.get("max_content_chars")
    if isinstance(given, int) and given > 0:
        return given
    return int(getattr(model, "max_content_chars", DEFAULT_MAX_CONTENT_CHARS))


@lru_cache(maxsize=8)
def doc_video_input_model(max_content_chars: int = DEFAULT_MAX_CONTENT_CHARS) -> type[DocVideoInput]:
    """A ``DocVideoInput`` subclass whose content limit is ``max_content_chars``."""
    return type(  # type: ignore[return-value]
        f"DocVideoInput{max_content_chars}",
        (DocVideoInput,),
        {"max_content_chars": max_content_chars, "__module__": __name__},
    )


def validate_doc_video_input(
    payload: dict[str, Any], max_content_chars: int = DEFAULT_MAX_CONTENT_CHARS
) -> DocVideoInput:
    """Validate a job input; raises ``pydantic.ValidationError`` naming the bad field."""
    return DocVideoInput.model_validate(payload, context={"max_content_chars": max_content_chars})


@dataclass(frozen=True)
class DocStageSpec:
    """One stage of the doc-video pipeline: its name, generator and whether a person approves it."""

    name: str
    generator: str
    approval: bool = False


DOC_VIDEO_STAGES: tuple[DocStageSpec, ...] = (
    DocStageSpec("PLAN", "doc.plan", approval=True),
    DocStageSpec("OUTLINE", "doc.outline"),
    DocStageSpec("NARRATION", "doc.narration", approval=True),
    DocStageSpec("PAGES", "doc.pages", approval=True),
    DocStageSpec("RENDER", "doc.render"),
    DocStageSpec("MERGE", "doc.merge"),
)

#: The stages a reviewer may approve or reject, in pipeline order.
DOC_VIDEO_APPROVAL_STAGES: tuple[str, ...] = tuple(s.name for s in DOC_VIDEO_STAGES if s.approval)

__all__ = [
    "ACCEPTED_LANGUAGE_CODES",
    "DEFAULT_MAX_CONTENT_CHARS",
    "DOC_VIDEO_APPROVAL_STAGES",
    "DOC_VIDEO_STAGES",
    "DocStageSpec",
    "DocVideoInput",
    "doc_video_input_model",
    "validate_doc_video_input",
]
