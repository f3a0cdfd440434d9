"""SSE helpers that every stream of a job shares: its frames, and the "has the job ended?" probe."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

from montage.api.sse import _EndedProbe, rendered
from montage.domain.jobs import JobEvent


def event(event_id: int, kind: str = "progress") -> JobEvent:
    return JobEvent(id=event_id, job_id="job_x", kind=kind, stage="music", status="RUNNING", progress=50.0,
                    message="m", payload={}, created_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_frame_is_made_once_per_event_and_format_and_shared() -> None:
    calls: list[int] = []

    def fmt(e: JobEvent) -> tuple[str, dict[str, Any]] | None:
        calls.append(e.id)
        return ("status", {"n": e.id}) if e.id != 3 else None

    frames = [rendered(event(i), fmt) for _ in range(200) for i in (1, 2, 3)]
    assert calls == [1, 2, 3], "each event formatted once however many streams send it"
    assert frames[:3] == ['id: 1\nevent: status\ndata: {"n":1}\n\n', 'id: 2\nevent: status\ndata: {"n":2}\n\n', ""]

    def other(e: JobEvent) -> tuple[str, dict[str, Any]]:
        return "log", {}

    assert rendered(event(1), other) == "id: 1\nevent: log\ndata: {}\n\n", "another contract's format is its own"


def test_streams_asking_at_once_whether_a_job_ended_cost_one_lookup() -> None:
    lookups: list[str] = []
    release = threading.Event()

    def ended() -> bool:
        lookups.append(threading.current_thread().name)
        release.wait(5)
        return True

    async def scenario() -> list[bool]:
        probe = _EndedProbe(max_age_s=60)
        asks = [asyncio.create_task(probe.check("job_x", ended)) for _ in range(200)]
        await asyncio.sleep(0)
        release.set()
        answers = await asyncio.gather(*asks)
        answers.append(await probe.check("job_x", ended))  # still fresh: no new lookup
        answers.append(await _EndedProbe(max_age_s=0).check("job_y", ended))
        return answers

    assert all(asyncio.run(scenario()))
    assert len(lookups) == 2, "one lookup for job_x's 200 streams, one for job_y"
