"""When a queued job will start and end: a queue's slots, the work running in them and the
work ahead, from measured run times. Pure arithmetic, in seconds from now.

A queue runs up to ``slots`` jobs at once. Each job running now holds a slot until it ends;
the jobs ahead of a queued job then take, one after another, whichever slot frees first;
the job itself takes the next one.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

#: Beyond this many jobs ahead the wait is the queue's work spread evenly over its slots
#: (slot by slot it would cost a step per job for every task read).
EXACT_AHEAD = 2000


@dataclass(frozen=True)
class Occupant:
    """A job holding one of a queue's slots."""

    pipeline: str
    started_at: datetime | None
    progress: float  # 0–100
    deadline_at: datetime | None  # it is stopped then, at the latest
    at_gate: bool = False  # waiting for a person's decision: its slot frees at no foreseeable time


def remaining_s(job: Occupant, mean_s: float, now: datetime) -> float:
    """Seconds until a running job ends: extrapolated from its progress once it has made some,
    else what its measured mean leaves; never past its deadline."""
    elapsed = max(0.0, (now - (job.started_at or now)).total_seconds())
    if job.progress >= 1.0:
        left = elapsed * (100.0 - min(job.progress, 100.0)) / job.progress
    else:
        left = max(0.0, mean_s - elapsed)
    if job.deadline_at is not None:
        left = min(left, max(0.0, (job.deadline_at - now).total_seconds()))
    return left


def free_slots(remaining: Sequence[float], slots: int) -> list[float]:
    """Seconds until each of ``slots`` slots can take a job, given what its running jobs have
    left. With more jobs running than slots (a worker just left), a slot frees only once the
    jobs beyond the count have ended too."""
    ends = sorted(max(0.0, r) for r in remaining)
    held = ends[max(0, len(ends) - slots):]
    return held + [0.0] * (slots - len(held))


def wait_s(free: Sequence[float], ahead: Mapping[str, int], run_time: Callable[[str], float]) -> float:
    """Seconds until a slot is free for a job behind ``ahead`` (count per pipeline): each job
    ahead takes the slot that frees first and holds it for its pipeline's run time."""
    if not free:
        raise ValueError("a queue needs at least one slot")
    count = sum(ahead.values())
    if count > EXACT_AHEAD:
        work = sum(n * run_time(p) for p, n in ahead.items())
        return max(min(free), (sum(free) + work) / len(free))
    heap = list(free)
    heapq.heapify(heap)
    for pipeline, n in sorted(ahead.items()):
        took = run_time(pipeline)
        for _ in range(n):
            heapq.heapreplace(heap, heap[0] + took)
    return heap[0]


def queued_wait_s(occupants: Sequence[Occupant], slots: int, ahead: Mapping[str, int],
                  run_time: Callable[[str], float], now: datetime) -> float | None:
    """Seconds until a queued job starts; None when every slot is held at an approval gate."""
    open_slots = slots - sum(1 for o in occupants if o.at_gate)
    if open_slots <= 0:
        return None
    remaining = [remaining_s(o, run_time(o.pipeline), now) for o in occupants if not o.at_gate]
    return wait_s(free_slots(remaining, open_slots), ahead, run_time)
