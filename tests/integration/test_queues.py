"""Priorities and per-queue concurrency, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from montage import errors
from tests.integration.conftest import Core


@pytest.fixture
def core_settings() -> dict[str, Any]:
    return {"worker_concurrency": 1, "queue_concurrency": {"serial": 1, "wide": 4}}


def test_higher_priority_starts_first_and_fifo_within_a_level(core: Core) -> None:
    blocker = core.submit("steps", {"seconds": 0.6})
    core.wait_status(blocker.id, "RUNNING")
    order = ["low", "normal", "high", "critical", "high"]
    jobs = [core.submit("noop", {"text": f"{i}"}, priority=p) for i, p in enumerate(order)]
    finished = [core.wait_status(j.id, "SUCCEEDED", timeout=60) for j in jobs]
    started = sorted(finished, key=lambda j: j.started_at)  # type: ignore[arg-type, return-value]
    assert [j.input["text"] for j in started] == ["3", "2", "4", "1", "0"]


def test_a_queue_with_concurrency_one_never_runs_two_at_once(core: Core) -> None:
    jobs = [core.submit("steps", {"seconds": 0.2}, queue="serial") for _ in range(3)]
    done = [core.wait_status(j.id, "SUCCEEDED", timeout=60) for j in jobs]
    spans = sorted((j.started_at, j.ended_at) for j in done)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end  # type: ignore[operator]


def test_an_unknown_queue_is_refused_with_the_known_ones(core: Core) -> None:
    with pytest.raises(errors.ValidationFailed) as info:
        core.submit("noop", queue="nope")
    assert info.value.details["allowed"] == ["default", "serial", "wide"]


def test_the_executor_keeps_dboss_per_poll_reads_with_this_dbos(core: Core) -> None:
    """If a DBOS upgrade renamed what montage keeps, polling would silently cost more again."""
    from dbos._dbos import _get_dbos_instance

    from montage.engine.dbos_polling import _Kept

    sys_db = _get_dbos_instance()._sys_db
    assert isinstance(sys_db._is_latest_version, _Kept) and isinstance(sys_db.get_queue, _Kept)
    done = core.wait_status(core.submit("noop", queue="wide").id, "SUCCEEDED")  # polls still start work
    assert done.worker_id
