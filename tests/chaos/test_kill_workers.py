"""kill -9 a worker mid-stage, again and again, while two API replicas take a stream of jobs.

2 API replicas (`montage serve --no-worker`) and 2 workers on a fresh PostgreSQL database, one
shared data folder. Each kill hits a worker that is running a stage; half the time it comes back
at once under its own id (DBOS recovers its own workflows), half the time it stays down until
the other worker has taken it over. Then: no job lost, every job terminal exactly once with only
legal transitions, no finished stage ever started again, re-runs bounded by the stages the kills
interrupted, every artifact intact, and SSE followers on replica 1 of jobs submitted to replica 2
saw every event.

CHAOS_KILLS (default 20) sets the number of kills.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from montage.client import MontageClient
from tests.chaos.history import broken_artifacts, history_report
from tests.support.cluster import Cluster, cluster
from tests.support.databases import POSTGRES_URL
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(1200),
              pytest.mark.skipif(not POSTGRES_URL, reason="MONTAGE_TEST_POSTGRES_URL not set")]
KILLS = int(os.environ.get("CHAOS_KILLS", "20"))
STAGE_SECONDS = 0.6
WORKERS = ("w-1", "w-2")


class JobStream:
    """Submits a job every ``interval`` seconds, alternating replicas, until stopped; replica 1
    follows some of replica 2's jobs over SSE."""

    def __init__(self, group: Cluster, interval: float = 0.4) -> None:
        self.group = group
        self.interval = interval
        self.accepted: list[str] = []
        self.followed: dict[str, list[int]] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> JobStream:
        self._threads.append(threading.Thread(target=self._submit, daemon=True))
        self._threads[0].start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._threads[0].join(timeout=30)

    def _submit(self) -> None:
        replicas = [MontageClient(api.url) for api in self.group.apis]
        n = 0
        while not self._stop.wait(self.interval):
            target = n % 2
            try:
                job = replicas[target].submit("steps", {"seconds": STAGE_SECONDS, "text": f"job {n}"})
            except Exception as exc:  # an accepted job is one that got its id back; count refusals
                self.errors.append(repr(exc))
                continue
            self.accepted.append(job["id"])
            if target == 1 and n % 10 == 1:
                self._follow(job["id"])
            n += 1
        for client in replicas:
            client.close()

    def _follow(self, job_id: str) -> None:
        seen: list[int] = []
        self.followed[job_id] = seen

        def run() -> None:
            with MontageClient(self.group.apis[0].url) as client:
                seen.extend(int(e["id"]) for e in client.events(job_id))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._threads.append(thread)

    def join_followers(self, timeout: float) -> None:
        for thread in self._threads[1:]:
            thread.join(timeout=timeout)


@pytest.fixture
def group(tmp_path: Path) -> Iterator[Cluster]:
    with cluster(tmp_path) as c:
        c.add_api()
        c.add_api()
        for worker in WORKERS:
            c.add_worker(worker)
        yield c


def _busy_stage(group: Cluster, worker: str) -> int:
    """How many jobs have a stage running on ``worker`` right now (0: none)."""
    rows = group.query("SELECT count(*) FROM jobs j JOIN stages s ON s.job_id = j.id WHERE j.status = 'RUNNING' "
                       "AND s.status = 'RUNNING' AND j.worker_id = :w", w=worker)
    return int(rows[0][0])


def _kill_mid_stage(group: Cluster, victim: str, take_over: bool) -> int:
    """Kill ``victim`` while it runs a stage; how many stages the kill interrupted (counted once
    it is dead: nothing changes its jobs until it is restarted or taken over)."""
    wait_for(lambda: _busy_stage(group, victim), timeout=120, interval=0.05, what=f"{victim} to be running a stage")
    group.workers[victim].kill9()
    interrupted = _busy_stage(group, victim)
    if take_over:
        wait_for(lambda: group.worker_status(victim) == "taken_over", timeout=60, interval=0.1,
                 what=f"{victim} to be taken over")
    group.restart_worker(victim)
    return interrupted


def test_kill_9_workers_mid_stage_loses_nothing_and_reruns_only_interrupted_stages(group: Cluster) -> None:
    rng = random.Random(10)
    interrupted = 0
    with JobStream(group) as stream:
        for kill in range(KILLS):
            interrupted += _kill_mid_stage(group, rng.choice(WORKERS), take_over=kill % 2 == 1)
    accepted = list(stream.accepted)
    assert accepted and not stream.errors, stream.errors[:5]
    with MontageClient(group.apis[0].url) as client:
        def all_ended() -> bool:
            return client.jobs(status=["QUEUED", "RUNNING", "CREATED"], limit=1)["total"] == 0
        wait_for(all_ended, timeout=600, interval=0.5, what="every job to end")
        assert client.jobs(limit=1)["total"] == len(accepted)
        statuses = {client.job(job_id)["status"] for job_id in accepted}
    assert statuses == {"SUCCEEDED"}, group.logs()[-3000:]
    report = history_report(group, accepted)
    assert not report["missing"] and not report["terminal_not_once"], report
    assert not report["illegal"] and not report["rerun_finished"], report
    assert report["extra_starts"] <= interrupted, (report["extra_starts"], interrupted)
    assert not broken_artifacts(group, group.data_dir, accepted)
    stream.join_followers(timeout=60)
    assert stream.followed
    for job_id, seen in stream.followed.items():
        stored = [row.id for row in group.query("SELECT id FROM events WHERE job_id = :j ORDER BY id", j=job_id)]
        assert seen == stored, job_id
    print(f"\nchaos: {KILLS} kills, {len(accepted)} jobs, {interrupted} running stages interrupted, "
          f"{report['extra_starts']} stage re-runs, {len(stream.followed)} SSE followers complete")
