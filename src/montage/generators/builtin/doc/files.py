"""Files of the doc stages: versioned names, JSON in and out, earlier stages' outputs.

A stage that runs again after a reviewer's reject writes its files under new names
(``plan/plan.v2.json``) so the rejected version stays listed next to the new one.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from montage.errors import GeneratorError
from montage.generators.base import StageContext


def version_of(ctx: StageContext) -> int:
    """1 on a first run; 2, 3, … after each reviewer reject of this stage."""
    revision = max(int(ctx.revision or 0), 1 if ctx.feedback else 0)
    return revision + 1


def versioned(relpath: str, version: int) -> str:
    """``plan/plan.json`` → ``plan/plan.v2.json`` for version 2; unchanged for version 1."""
    if version <= 1:
        return relpath
    path = PurePosixPath(relpath)
    return str(path.with_name(f"{path.stem}.v{version}{path.suffix}"))


def write_json(ctx: StageContext, relpath: str, data: Any, role: str) -> str:
    """Write ``data`` as pretty UTF-8 JSON at ``relpath`` and declare it; returns ``relpath``."""
    target = ctx.path(relpath)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(target)
    ctx.add_artifact(relpath, role, "application/json")
    return relpath


def read_json(ctx: StageContext, relpath: str) -> Any:
    """Read JSON an earlier stage wrote under the job folder."""
    target = ctx.workdir / relpath
    try:
        return json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GeneratorError(f"{relpath} is missing from the job folder", code="MISSING_INPUT",
                             retryable=False, path=relpath) from None
    except json.JSONDecodeError as exc:
        raise GeneratorError(f"{relpath} is not valid JSON: {exc}", code="BAD_INPUT",
                             retryable=False, path=relpath) from None


def stage_output(ctx: StageContext, kind: str) -> dict[str, Any]:
    """The outputs of the latest earlier stage whose generator was ``kind`` (e.g. ``doc.plan``)."""
    for outputs in reversed(list(ctx.outputs.values())):
        if isinstance(outputs, dict) and outputs.get("kind") == kind:
            return outputs
    raise GeneratorError(
        f"this stage needs the outputs of a {kind} stage, and none ran before it",
        code="MISSING_INPUT", retryable=False, needs=kind, have=sorted(ctx.outputs),
    )


def revision_record(ctx: StageContext, version: int) -> dict[str, Any]:
    """The fields every versioned JSON carries: version, revision and the reviewer's feedback."""
    return {"version": version, "revision": version - 1, "feedback": ctx.feedback}


def previous_version(ctx: StageContext, relpath: str, version: int) -> Any | None:
    """The JSON of the version before ``version``, when it exists."""
    if version <= 1:
        return None
    target = ctx.workdir / versioned(relpath, version - 1)
    if not target.exists():
        return None
    try:
        return json.loads(target.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
