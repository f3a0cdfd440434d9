"""The event hub's all-jobs subscription (the dashboard's live list), next to per-job ones."""

from __future__ import annotations

import asyncio

from montage.domain.jobs import JobEvent
from montage.services.events import ALL_JOBS, EventHub, Subscription
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
