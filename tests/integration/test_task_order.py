"""Start order of tasks when an executor runs several at once, on SQLite and PostgreSQL.

The executor here runs four tasks at a time. Four ``health_check`` tasks hold every slot on the
test server's ``/hold`` until the test releases them together, so the tasks queued meanwhile
are dequeued several at a time and their threads race to start. They must still start in
priority order, first in first out within one priority.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from montage.domain.jobs import Job
from montage.engine.runtime import Engine
from montage.services.jobs import JobService
from montage.services.runtime import Runtime
from montage.services.tasks import NewTask, TaskService
from tests.integration.conftest import make_settings
from tests.support.databases import BACKEND_PARAMS, fresh_database
from tests.support.http_target import HttpTarget
from tests.support.waiting import wait_for

SLOTS = 4
ENDED = ("SUCCEEDED", "FAILED", "CANCELED")


@dataclass
class OrderCore:
    engine: Engine
    tasks: TaskService
    http: HttpTarget

    def hold_every_slot(self) -> str:
        """Fill the executor's slots with tasks answered only once the key is released."""
        key = uuid.uuid4().hex
        views = [self.tasks.create(NewTask("health_check", "kb_order", {"url": f"{self.http.url}/hold?key={key}",
                                                                         "timeout": 60}))
                 for _ in range(SLOTS)]
        for view in views:
            wait_for(lambda v=view: self.tasks.task(v.job.id).status.value == "RUNNING", timeout=30,
                     what="a blocker to run")
        return key

    def finished(self, jobs: list[Job]) -> list[Job]:
        return [wait_for(lambda j=j: (t := self.tasks.task(j.id)).status.value in ENDED and t, timeout=60,
                         what=f"{j.id} to end") for j in jobs]


@pytest.fixture(scope="module")
def http() -> Iterator[HttpTarget]:
    with HttpTarget() as server:
        yield server


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def oc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, http: HttpTarget
       ) -> Iterator[OrderCore]:
    tmp = tmp_path_factory.mktemp(f"order-{request.param}")
    with fresh_database(request.param, tmp) as url:
        runtime = Runtime.open(make_settings(tmp, url, worker_concurrency=SLOTS, heartbeat_interval_s=0.5,
                                             strict_start_order=True))
        engine = Engine(runtime, role="serve", executes=True)
        engine.launch()
        try:
            yield OrderCore(engine, TaskService(JobService(runtime, engine)), http)
        finally:
            engine.shutdown()
            runtime.close()


def start_order(jobs: list[Job]) -> list[int]:
    """The ``n`` of each job's payload, in the order the jobs started."""
    started = sorted(jobs, key=lambda j: j.started_at)  # type: ignore[arg-type, return-value]
    return [j.input["payload"]["n"] for j in started]


@pytest.mark.parametrize("batch", [False, True], ids=["one-by-one", "batch"])
def test_tasks_of_one_priority_start_in_the_order_they_were_created(oc: OrderCore, batch: bool) -> None:
    key = oc.hold_every_slot()
    new = [NewTask("noop", "kb_order", {"n": n}) for n in range(4 * SLOTS)]
    views = oc.tasks.create_batch(new) if batch else [oc.tasks.create(t) for t in new]
    oc.http.release(key)
    done = oc.finished([v.job for v in views])
    assert {j.status.value for j in done} == {"SUCCEEDED"}
    assert start_order(done) == list(range(4 * SLOTS))


def test_mixed_priorities_start_highest_first_and_in_creation_order_within_one(oc: OrderCore) -> None:
    key = oc.hold_every_slot()
    priorities = ["low", "normal", "critical", "high"] * 4
    views = [oc.tasks.create(NewTask("noop", "kb_order", {"n": n}, priority=p)) for n, p in enumerate(priorities)]
    oc.http.release(key)
    done = oc.finished([v.job for v in views])
    rank = {"critical": 0, "high": 1, "normal": 2, "low": 3}
    expected = sorted(range(len(priorities)), key=lambda n: (rank[priorities[n]], n))
    assert start_order(done) == expected
