"""The Rematrix "Markdown → narrated video" generators.

Six stages, each a generator registered by name: ``doc.plan`` (Markdown → plan),
``doc.outline`` (plan → slides), ``doc.narration`` (script + one WAV per slide),
``doc.pages`` (one PNG per slide), ``doc.render`` (timeline, joined sound track) and
``doc.merge`` (``final.mp4`` + subtitles). :data:`DOC_VIDEO_STAGES` is their default
pipeline with approval gates at PLAN, NARRATION and PAGES; :class:`DocVideoInput`
validates the job input. :func:`run_doc_video` runs the chain without the engine.
"""

from montage.generators.builtin.doc.input import (
    DOC_VIDEO_APPROVAL_STAGES,
    DOC_VIDEO_STAGES,
    DocStageSpec,
    DocVideoInput,
    doc_video_input_model,
    validate_doc_video_input,
)
from montage.generators.builtin.doc.local import run_doc_video

__all__ = [
    "DOC_VIDEO_APPROVAL_STAGES",
    "DOC_VIDEO_STAGES",
    "DocStageSpec",
    "DocVideoInput",
    "doc_video_input_model",
    "run_doc_video",
    "validate_doc_video_input",
]
