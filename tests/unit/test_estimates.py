"""When a queued job starts: slots, what their running jobs have left, the work ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from montage.domain.estimates import EXACT_AHEAD, Occupant, free_slots, queued_wait_s, remaining_s, wait_s

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
MEANS = {"long": 60.0, "short": 2.0}


def run_time(pipeline: str) -> float:
    return MEANS[pipeline]


def running(pipeline: str = "long", *, since_s: float = 0.0, progress: float = 0.0, deadline_in_s: float | None = None,
            at_gate: bool = False) -> Occupant:
    deadline = NOW + timedelta(seconds=deadline_in_s) if deadline_in_s is not None else None
    return Occupant(pipeline, NOW - timedelta(seconds=since_s), progress, deadline, at_gate)


def test_a_running_job_has_what_its_mean_leaves_or_what_its_progress_says() -> None:
    assert remaining_s(running(since_s=15), 60.0, NOW) == 45.0
    assert remaining_s(running(since_s=90), 60.0, NOW) == 0.0  # overdue: any moment now
    assert remaining_s(running(since_s=30, progress=25), 60.0, NOW) == 90.0  # 25 % took 30 s
    assert remaining_s(running(since_s=15, deadline_in_s=10), 60.0, NOW) == 10.0  # stopped at its deadline


def test_a_slot_frees_when_its_job_ends_and_an_idle_slot_is_free_now() -> None:
    assert free_slots([30.0, 10.0], 3) == [10.0, 30.0, 0.0]
    assert free_slots([], 2) == [0.0, 0.0]
    # three running in two slots (an executor just left): the first slot frees at the second end
    assert free_slots([5.0, 30.0, 10.0], 2) == [10.0, 30.0]


def test_the_jobs_ahead_take_whichever_slot_frees_first() -> None:
    assert wait_s([0.0], {}, run_time) == 0.0
    assert wait_s([45.0], {"short": 2}, run_time) == 49.0  # one slot: everything in turn
    assert wait_s([45.0, 0.0], {"short": 2}, run_time) == 4.0  # the free slot runs both first
    # 23 start in the idle slot by 44 s; from 45 s both slots take one each second: the 30th at 51 s
    assert wait_s([45.0, 0.0], {"short": 30}, run_time) == 52.0
    assert wait_s([10.0, 20.0], {"long": 1}, run_time) == 20.0


def test_a_long_queue_is_spread_over_the_slots() -> None:
    ahead = {"short": EXACT_AHEAD + 2}
    assert wait_s([0.0, 0.0], ahead, run_time) == pytest.approx((EXACT_AHEAD + 2) * 2.0 / 2)
    assert wait_s([100.0, 0.0], ahead, run_time) == pytest.approx((100.0 + (EXACT_AHEAD + 2) * 2.0) / 2)


def test_a_queued_job_waits_for_the_running_ones_not_only_for_those_ahead() -> None:
    one_slot = queued_wait_s([running(since_s=15)], 1, {"short": 1}, run_time, NOW)
    assert one_slot == 45.0 + 2.0
    two_slots = queued_wait_s([running(since_s=15)], 2, {"short": 1}, run_time, NOW)
    assert two_slots == 2.0  # the idle slot runs the one ahead, then this one


def test_slots_held_at_an_approval_gate_free_at_no_known_time() -> None:
    gate = running(at_gate=True)
    assert queued_wait_s([gate, running(since_s=50)], 2, {}, run_time, NOW) == 10.0
    assert queued_wait_s([gate], 1, {"short": 1}, run_time, NOW) is None


def test_a_queue_needs_a_slot() -> None:
    with pytest.raises(ValueError):
        wait_s([], {}, run_time)
