"""The event hub's all-jobs subscription (the dashboard's live list), next to per-job ones."""

from __future__ import annotations

import asyncio

from sqlalchemy import insert

from montage.domain.jobs import JobEvent
from montage.services.events import ALL_JOBS, EventHub, Subscription
from montage.store.jobs import utcnow
from montage.store.models import EventRow
from tests.integration.conftest import Core


async def drain(subscription: Subscription, count: int) -> list[JobEvent]:
    events = []
    for _ in range(count):
        event = await subscription.next(timeout=10)
        assert event is not None, f"only {len(events)} of {count} events came"
        events.append(event)
    return events


def test_an_all_jobs_subscriber_sees_every_jobs_events_once_each_job_in_order_and_can_replay(core: Core) -> None:
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
            assert len(ids) == len(set(ids)), "each event once"
            for job in (first, second):  # across jobs, PostgreSQL may commit ids out of order
                mine = [e.id for e in live if e.job_id == job.id]
                assert mine == sorted(mine), "a job's events in id order"
            ids.sort()
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


def test_an_event_that_becomes_visible_after_a_newer_one_still_reaches_its_subscribers(core: Core) -> None:
    """On PostgreSQL two jobs' events can commit out of id order: the hub follows the hole the
    first poll saw until the late event fills it. Written here with explicit ids (the same on
    SQLite, where the hub follows holes when told to)."""
    db = core.runtime.db

    def write(event_id: int, job_id: str) -> None:
        with db.transaction() as s:
            s.execute(insert(EventRow).values(id=event_id, job_id=job_id, kind="log", message=f"event {event_id}",
                                              payload={}, created_at=utcnow()))

    async def scenario() -> None:
        hub = EventHub(db, poll_interval_s=0.02, track_gaps=True)
        await hub.start()
        try:
            base = await asyncio.to_thread(hub.latest_id) + 100
            async with await hub.subscribe(ALL_JOBS, base) as everything, \
                    await hub.subscribe("late-job", 0) as late_job:
                for event_id, job_id in [(base + 1, "job-a"), (base + 2, "job-a"), (base + 4, "job-c")]:
                    await asyncio.to_thread(write, event_id, job_id)
                assert [e.id for e in await drain(everything, 3)] == [base + 1, base + 2, base + 4]
                async with asyncio.timeout(10):  # the hub's own poll has read past the hole
                    while hub._cursor < base + 4:
                        await asyncio.sleep(0.01)
                await asyncio.to_thread(write, base + 3, "late-job")
                assert [e.id for e in await drain(everything, 1)] == [base + 3]
                assert [e.id for e in await drain(late_job, 1)] == [base + 3]
                assert await everything.next(timeout=0.2) is None, "each event once"
            assert base + 3 not in hub._gaps
        finally:
            await hub.stop()

    asyncio.run(scenario())
