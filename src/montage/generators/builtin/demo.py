"""Generators of the demo pipelines: no-op, a sleeper that honours cancel, a flaky stage.

Each writes a small text artifact recording what it did, so tests can tell how many
times a stage really ran.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from montage.errors import GeneratorError
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.registry import register


class _Empty(GeneratorConfig):
    pass


def _record_run(ctx: StageContext, extra: dict[str, Any]) -> dict[str, Any]:
    """Append this run to ``<stage>/runs.jsonl`` and declare it; return the outputs."""
    path = ctx.path(f"{ctx.stage}/runs.jsonl")
    entry = {"stage": ctx.stage, "attempt": ctx.attempt, "revision": ctx.revision,
             "feedback": ctx.feedback, **extra}
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    ctx.add_artifact(f"{ctx.stage}/runs.jsonl", role=ctx.stage, mime="application/x-ndjson")
    previous = [o.get("text", "") for o in ctx.outputs.values()]
    return {"text": " → ".join([*previous, f"{ctx.stage}#{ctx.revision}"]), "feedback": ctx.feedback}


@register
class NoopGenerator:
    """Does nothing at all (engine overhead benchmark)."""

    name: ClassVar[str] = "demo.noop"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        return {}


@register
class SleepGenerator:
    """Works for ``input.seconds`` in small steps, reporting progress and honouring cancel."""

    name: ClassVar[str] = "demo.sleep"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        seconds = float(ctx.input.get("seconds", 0.0))
        steps = max(1, int(seconds / 0.05))
        for i in range(steps):
            ctx.check_cancelled()
            if seconds:
                time.sleep(seconds / steps)  # simulated work, in slices so cancel is prompt
            ctx.progress((i + 1) * 100 / steps, f"{ctx.stage} {i + 1}/{steps}")
        ctx.log(f"{ctx.stage} worked {seconds:.2f}s")
        return _record_run(ctx, {"seconds": seconds})


@register
class FlakyGenerator:
    """Fails its first ``input.fail_times`` attempts (counted across retries), then succeeds."""

    name: ClassVar[str] = "demo.flaky"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        counter = ctx.path(f"{ctx.stage}/attempts.txt")
        failures = int(counter.read_text()) if counter.exists() else 0
        if failures < int(ctx.input.get("fail_times", 0)):
            counter.write_text(str(failures + 1))
            raise GeneratorError(f"planned failure {failures + 1}", code="PLANNED_FAILURE")
        return SleepGenerator().run(ctx, config)
