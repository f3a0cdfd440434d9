"""Run the doc-video stages in-process, without the engine: for tests, benchmarks and scripts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from montage.generators.builtin.doc.input import DOC_VIDEO_STAGES
from montage.generators.registry import get_generator
from montage.generators.standalone import StandaloneContext


@dataclass
class DocVideoRun:
    """What a local run produced: each stage's outputs, context and wall time."""

    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    contexts: dict[str, StandaloneContext] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def run_stage(stage: str, generator: str, workdir: Path, job_input: dict[str, Any],
              outputs: dict[str, dict[str, Any]], *, settings: dict[str, Any] | None = None,
              config: dict[str, Any] | None = None, feedback: str | None = None,
              revision: int = 0) -> tuple[dict[str, Any], StandaloneContext]:
    """Run one stage on the outputs of the stages before it."""
    instance = get_generator(generator)
    ctx = StandaloneContext(workdir=workdir, input=dict(job_input), outputs=dict(outputs), stage=stage,
                            pipeline="doc-video", feedback=feedback, revision=revision,
                            settings=dict(settings or {}))
    result = instance.run(ctx, instance.Config(**(config or {})))
    return result, ctx


def run_doc_video(workdir: Path, job_input: dict[str, Any], *, settings: dict[str, Any] | None = None,
                  configs: dict[str, dict[str, Any]] | None = None, until: str | None = None) -> DocVideoRun:
    """Run the stages of :data:`DOC_VIDEO_STAGES` in order (up to and including ``until``)."""
    run = DocVideoRun()
    for spec in DOC_VIDEO_STAGES:
        started = time.perf_counter()
        result, ctx = run_stage(spec.name, spec.generator, workdir, job_input, run.outputs,
                                settings=settings, config=(configs or {}).get(spec.name))
        run.seconds[spec.name] = time.perf_counter() - started
        run.outputs[spec.name] = result
        run.contexts[spec.name] = ctx
        if spec.name == until:
            break
    return run
