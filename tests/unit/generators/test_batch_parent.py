"""The parent job of a batch: it follows its items cheaply and records progress only when one moved."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from montage.generators.builtin.batch import parent
from montage.generators.builtin.batch.parent import BatchRun
from montage.generators.builtin.batch.ports import Progress, RunPlan
from montage.generators.standalone import StandaloneContext

# What the items' statuses read at each poll: the parent polls seven times, items move four times.
POLLS = [(("QUEUED", 2),), (("QUEUED", 2),), (("QUEUED", 1), ("RUNNING", 1)), (("QUEUED", 1), ("RUNNING", 1)),
         (("QUEUED", 1), ("RUNNING", 1)), (("RUNNING", 1), ("SUCCEEDED", 1)), (("SUCCEEDED", 2),)]


class ScriptedItems:
    """A batch host whose items move one poll at a time (the parent's sleep is the clock)."""

    def __init__(self) -> None:
        self.poll = 0
        self.recorded = 0

    def tick(self, _seconds: float) -> None:
        self.poll = min(self.poll + 1, len(POLLS) - 1)

    def start_run(self, execution_id: int) -> RunPlan:
        return RunPlan(items=[{"index": 0}, {"index": 1}])

    def submit_items(self, parent_job_id: str, execution_id: int, items: list[dict[str, Any]]) -> list[str]:
        return ["a", "b"]

    def item_statuses(self, execution_id: int) -> tuple[tuple[str, int], ...]:
        return POLLS[self.poll]

    def record_progress(self, execution_id: int) -> Progress:
        self.recorded += 1
        done = dict(POLLS[self.poll]).get("SUCCEEDED", 0)
        return Progress(done, 2, f"{done} of 2 items done")

    def finish_run(self, execution_id: int, note: str = "") -> dict[str, Any]:
        return {"total": 2, "success_count": 2, "fail_count": 0, "processed_files": 2}


def test_the_parent_records_progress_only_when_an_item_changed_status(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    host = ScriptedItems()
    monkeypatch.setattr(parent.time, "sleep", host.tick)
    ctx = StandaloneContext(workdir=tmp_path, job_id="job_parent", input={"execution_id": 1},
                            services={"batch": host})
    result = BatchRun().run(ctx, BatchRun.Config())
    assert result["success_count"] == 2
    changes = 1 + sum(1 for a, b in pairwise(POLLS) if a != b)
    assert host.recorded == changes == 4  # not once per poll (7)
    assert [m for _, m in ctx.progress_log] == ["0 of 2 items done", "0 of 2 items done", "1 of 2 items done",
                                                "2 of 2 items done"]
