"""The Rematrix pipeline: Markdown → plan, outline, narration, pages, render, merge → final.mp4."""

from __future__ import annotations

from montage.domain.pipelines import PipelineSpec, RetryPolicy, StageSpec
from montage.generators.builtin.doc.input import DOC_VIDEO_STAGES, DocVideoInput
from montage.pipelines import register_pipeline

DOC_VIDEO = register_pipeline(PipelineSpec(
    name="doc-video",
    version="1",
    description="Markdown → narrated slide video, with approval gates at PLAN, NARRATION and PAGES.",
    stages=tuple(StageSpec(s.name, s.generator, approval=s.approval, retry=RetryPolicy(max_attempts=2))
                 for s in DOC_VIDEO_STAGES),
    input_model=DocVideoInput,
    facade="rematrix",
))
