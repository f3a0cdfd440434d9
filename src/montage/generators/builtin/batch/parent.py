"""The parent job of a batch execution: one child job per item, followed until all have ended.

The host finds the items (matching sub-folders) and creates each child with an idempotency key
made of the execution and the item's index, so a parent that runs again after a crash finds the
children it made instead of making more, and a child that had finished is not run again. The
children run on the server's own queue, at most ``batch_size`` at once; this job only waits,
on a queue of its own, so it never holds a slot a child needs.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from montage.errors import JobCanceled, JobTimedOut
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.batch.ports import batch_control
from montage.generators.registry import register

_POLL_S = 0.25


class _Empty(GeneratorConfig):
    pass


@register
class BatchRun:
    """Fan a batch execution out into item jobs; progress is items ended / items."""

    name: ClassVar[str] = "batch.run"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        control = batch_control(ctx)
        execution_id = int(ctx.input["execution_id"])
        plan = control.start_run(execution_id)
        if plan.items:
            control.submit_items(ctx.job_id, execution_id, plan.items)
            ctx.log(f"{len(plan.items)} items" + (f"; {plan.message}" if plan.message else ""))
            self._follow(ctx, execution_id)
        result = control.finish_run(execution_id, plan.message)
        return {key: result.get(key) for key in ("total", "success_count", "fail_count", "processed_files")}

    @staticmethod
    def _follow(ctx: StageContext, execution_id: int) -> None:
        """Wait for the items to end, recording progress whenever an item changed status.

        Between changes a poll costs one aggregate query and the cancel check: recording
        progress reads every item with its outputs and writes the execution and the job, which
        for a batch of hundreds of folders, four times a second, competed with the items
        themselves for the database."""
        control = batch_control(ctx)
        seen: tuple[tuple[str, int], ...] | None = None
        try:
            while True:
                statuses = control.item_statuses(execution_id)
                if statuses != seen:
                    seen = statuses
                    progress = control.record_progress(execution_id)
                    ctx.progress(100.0 * progress.finished / max(1, progress.total), progress.message)
                    if progress.finished >= progress.total:
                        return
                ctx.check_cancelled()
                time.sleep(_POLL_S)
        except JobCanceled:
            control.cancel_items(execution_id, "the batch was cancelled")
            raise
        except JobTimedOut:
            control.cancel_items(execution_id, "the batch ran past its timeout")
            raise
