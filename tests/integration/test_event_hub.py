"""The event hub's all-jobs subscription (the dashboard's live list), next to per-job ones."""

from __future__ import annotations

import asyncio
from typing import Any

from montage.api.sse import follow_events
from montage.domain.jobs import JobEvent
from montage.services.events import ALL_JOBS, EventHub, Subscription
from montage.store import records
from tests.integration.conftest import Core


async def drain(subscription: Subscription, count: int) -> list[JobEvent]:
    events = []
    for _ in range(count):
        event = await subscription.next(timeout=10)
        assert event is not None, f"only {len(events)} of {count} events came"
        events.append(event)
    return events


def test_an_all_jobs_subscriber_sees_every_jobs_events_once_in_order_and_can_replay(core: Core) -> None:
    async def scenario() -> None:
        hub = EventHub(core.runtime.db, poll_interval_s=0.02)
        core.runtime.on_change(hub.nudge)
        await hub.start()
        try:
            start = await asyncio.to_thread(hub.latest_id)
            async with await hub.subscribe(ALL_JOBS, start) as everything:
                first = await asyncio.to_thread(core.submit, "noop")
                second = await asyncio.to_thread(core.submit, "steps", {"seconds": 0})
                live: list[JobEvent] = []
                while {e.job_id for e in live if e.kind == "done"} != {first.id, second.id}:
                    live.extend(await drain(everything, 1))
            ids = [e.id for e in live]
            assert ids == sorted(set(ids)), "each event once, in id order"
            assert {e.job_id for e in live} == {first.id, second.id}

            async with await hub.subscribe(ALL_JOBS, start) as replayed:
                assert [e.id for e in await drain(replayed, len(live))] == ids
            async with await hub.subscribe(ALL_JOBS, ids[2]) as resumed:
                assert [e.id for e in await drain(resumed, len(ids) - 3)] == ids[3:]
            async with await hub.subscribe(first.id, start) as one_job:
                mine = [e.id for e in live if e.job_id == first.id]
                assert [e.id for e in await drain(one_job, len(mine))] == mine
                assert await one_job.next(timeout=0.2) is None
            assert hub.open_streams == 0
        finally:
            await hub.stop()

    asyncio.run(scenario())


def test_a_listener_hears_every_event_with_no_stream_open_even_from_another_process(core: Core) -> None:
    from montage.store import records
    from montage.store.db import Database

    async def scenario() -> None:
        hub = EventHub(core.runtime.db, poll_interval_s=0.02)
        heard: list[JobEvent] = []
        hub.add_listener(heard.extend)
        await hub.start()
        other = Database(core.runtime.db.url)  # a writer the hub is never nudged by
        try:
            job = await asyncio.to_thread(core.submit, "noop")
            with other.transaction() as s:
                records.append_event(s, job.id, "log", message="from elsewhere")
            deadline = asyncio.get_running_loop().time() + 10
            while not any(e.message == "from elsewhere" for e in heard):
                assert asyncio.get_running_loop().time() < deadline, "the listener never heard it"
                await asyncio.sleep(0.02)
            ids = [e.id for e in heard]
            assert ids == sorted(set(ids)) and hub.open_streams == 0
        finally:
            other.dispose()
            await hub.stop()

    asyncio.run(scenario())


def _append(core: Core, job_id: str, count: int, kind: str = "log") -> None:
    with core.runtime.db.transaction() as s:
        for n in range(count):
            records.append_event(s, job_id, kind, message=f"line {n}")


def _as_sse(e: JobEvent) -> tuple[str, dict[str, Any]]:
    return e.kind, {"message": e.message}


def test_a_stream_behind_gets_every_waiting_event_in_one_write_each_once_in_order(core: Core) -> None:
    job = core.submit("noop", start=False)
    _append(core, job.id, 40)

    async def scenario() -> list[str]:
        hub = EventHub(core.runtime.db, poll_interval_s=0.02)
        await hub.start()
        try:
            stream = follow_events(hub, job.id, 0, _as_sse, lambda: core.jobs.get(job.id).status.terminal)
            assert await anext(stream) == "retry: 2000\n\n"
            chunk = await anext(stream)
            await stream.aclose()
            return [line for line in chunk.splitlines() if line.startswith("data:")]
        finally:
            await hub.stop()

    data = asyncio.run(scenario())
    assert data[1:] == [f'data: {{"message":"line {n}"}}' for n in range(40)], "all 40 in the first write, in order"


def test_a_stream_whose_job_ended_still_sends_the_last_events_the_live_feed_has_not_brought(core: Core) -> None:
    job = core.submit("noop", start=False)

    def ended() -> bool:  # the job ends just now: its last event is in the table, not yet fanned out
        _append(core, job.id, 1, kind="done")
        return True

    async def scenario() -> list[str]:
        hub = EventHub(core.runtime.db, poll_interval_s=0.02)  # not started: nothing is fanned out live
        after = await asyncio.to_thread(hub.latest_id)
        return [chunk async for chunk in follow_events(hub, job.id, after, _as_sse, ended)]

    chunks = asyncio.run(scenario())
    assert chunks[-1].startswith("id: ") and "event: done" in chunks[-1], chunks
