"""batch_processing: one child task per file of a folder (or list), finished when they are.

The stage creates each child through the host's task service with an idempotency key made of
the parent's id and the file, so a stage that runs again (after a crash, a retry) finds the
children it made instead of making more. It then follows them, reporting progress, until all
have ended; a cancel or timeout of the parent cancels the children still running. Batch
parents run on their own queue, so a parent waiting never holds the slot a child needs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

from montage.errors import GeneratorError, JobCanceled, JobTimedOut, ValidationFailed
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.kb.documents import allowed_roots
from montage.generators.builtin.kb.extract import MIME, DocumentError, check_path
from montage.generators.builtin.kb.ports import ChildTasks, child_tasks
from montage.generators.registry import register

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})
_POLL_S = 0.2
MAX_FILES = 10_000


class _Empty(GeneratorConfig):
    pass


def batch_files(payload: dict[str, Any], roots: list[Path]) -> list[str]:
    """The files a batch covers, sorted; a folder contributes its supported files."""
    if payload.get("files"):
        return list(payload["files"])
    folder = Path(payload["folder"]).expanduser()
    resolved = folder.resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise DocumentError(f"folder {folder} is outside the allowed folders ({', '.join(map(str, roots))})",
                            code="PATH_NOT_ALLOWED", folder=str(folder), allowed_roots=[str(r) for r in roots])
    if not resolved.is_dir():
        raise DocumentError(f"no such folder: {folder}", code="FOLDER_NOT_FOUND", folder=str(folder))
    pattern = resolved.rglob("*") if payload.get("recursive") else resolved.glob("*")
    files = sorted(str(p) for p in pattern if p.is_file() and p.suffix.lower() in MIME)
    if not files:
        raise DocumentError(f"{folder} holds no {', '.join(sorted(MIME))} files", code="BATCH_EMPTY",
                            folder=str(folder))
    if len(files) > MAX_FILES:
        raise DocumentError(f"{folder} holds {len(files)} files; a batch takes at most {MAX_FILES}",
                            code="BATCH_TOO_LARGE", folder=str(folder))
    return files


@register
class BatchProcessing:
    """Fan ``payload.folder`` or ``payload.files`` out into child tasks and wait for them."""

    name: ClassVar[str] = "kb.batch_processing"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        payload = ctx.input["payload"]
        roots = allowed_roots(ctx)
        files = batch_files(payload, roots)
        tasks = child_tasks(ctx)
        child_payload = {"chunk_size": payload.get("chunk_size", 1000),
                         "chunk_overlap": payload.get("chunk_overlap", 200)}
        task_type = payload.get("task_type", "document_processing")
        ids: list[str] = []
        skipped: list[dict[str, str]] = []
        for i, path in enumerate(files):
            ctx.check_cancelled()
            try:
                ids.append(tasks.submit_child(ctx.job_id, f"{i}:{path}", task_type,
                                              {"file_path": path, **child_payload}))
            except ValidationFailed as exc:  # e.g. an encrypted PDF in the folder: reported, not retried
                skipped.append({"file": path, "error": exc.message})
                ctx.log(f"skipped {path}: {exc.message}", level="warning")
        again = tasks.retry_children(ids)  # a rerun of the parent reruns the children that did not succeed
        ctx.log(f"{len(ids)} child tasks" + (f" ({again} run again)" if again else ""))
        statuses = self._follow(ctx, tasks, ids) if ids else {}
        failed = [i for i in ids if statuses[i] != "SUCCEEDED"]
        if failed or skipped:
            raise GeneratorError(f"{len(failed) + len(skipped)} of {len(files)} files were not processed"
                                 + (f" ({len(skipped)} refused: {skipped[0]['error']})" if skipped else ""),
                                 code="CHILD_TASKS_FAILED", retryable=False, failed=failed, skipped=skipped)
        return {"kb_id": ctx.input["kb_id"], "total": len(ids), "completed": len(ids), "children": ids,
                "files": files}

    @staticmethod
    def _follow(ctx: StageContext, tasks: ChildTasks, ids: list[str]) -> dict[str, str]:
        try:
            while True:
                statuses = tasks.child_statuses(ids)
                done = sum(1 for s in statuses.values() if s in TERMINAL)
                ctx.progress(100.0 * done / len(ids), f"{done} of {len(ids)} child tasks ended")
                if done == len(ids):
                    return statuses
                ctx.check_cancelled()
                time.sleep(_POLL_S)
        except (JobCanceled, JobTimedOut):
            tasks.cancel_children(ids)
            raise


def check_batch_files(payload: dict[str, Any], roots: list[Path], max_bytes: int) -> list[Path]:
    """The files of a batch, refusing one that could not be processed, before it is created."""
    files = batch_files(payload, roots)
    return [check_path(path, roots, max_bytes) for path in files]
