"""Several processes on PostgreSQL: a dead worker's jobs are taken over, SIGTERM drains a worker,
and a stage that requires a label runs only on a worker with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from montage.client import MontageClient
from tests.support.cluster import Cluster, cluster
from tests.support.databases import POSTGRES_URL
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.chaos,
              pytest.mark.skipif(not POSTGRES_URL, reason="MONTAGE_TEST_POSTGRES_URL not set")]
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}


@pytest.fixture
def group(tmp_path: Path) -> Iterator[Cluster]:
    with cluster(tmp_path) as c:
        c.add_api()
        yield c


def _finished(client: MontageClient, job_id: str, timeout: float = 60) -> dict[str, object]:
    return wait_for(lambda: (j := client.job(job_id))["status"] in TERMINAL and j, timeout=timeout,
                    what=f"{job_id} to end")


def _running_stage(client: MontageClient, job_id: str, stage: str) -> dict[str, object]:
    return wait_for(lambda: (j := client.job(job_id))["stage"] == stage and j["worker_id"] and j, timeout=30,
                    what=f"stage {stage} of {job_id} to run")


def test_a_dead_worker_is_taken_over_and_only_its_running_stage_runs_again(group: Cluster) -> None:
    group.add_worker("w-a")
    group.add_worker("w-b")
    with MontageClient(group.apis[0].url) as client:
        job = client.submit("steps", {"seconds": 3})
        owner = str(_running_stage(client, job["id"], "two")["worker_id"])
        group.workers[owner].kill9()
        wait_for(lambda: group.worker_status(owner) == "taken_over", timeout=30, what=f"{owner} taken over")
        done = _finished(client, job["id"])
    survivor = "w-b" if owner == "w-a" else "w-a"
    assert done["status"] == "SUCCEEDED", group.logs()
    assert done["worker_id"] == survivor
    assert group.stage_starts(job["id"]) == {"one": 1, "two": 2, "three": 1}
    assert group.worker_row(owner)["labels"]["taken_over"]["by"] == survivor


def test_sigterm_lets_the_running_stage_finish_and_another_worker_goes_on(group: Cluster) -> None:
    group.add_worker("w-a", env={"MONTAGE_SHUTDOWN_GRACE_S": "30"})
    group.add_worker("w-b", env={"MONTAGE_SHUTDOWN_GRACE_S": "30"})
    with MontageClient(group.apis[0].url) as client:
        job = client.submit("steps", {"seconds": 2})
        owner = str(_running_stage(client, job["id"], "two")["worker_id"])
        stopping = group.workers[owner]
        stopping.stop()  # SIGTERM, then waits for the process to exit
        assert stopping.proc is not None and stopping.proc.returncode == 0, stopping.log()
        assert group.worker_status(owner) in ("stopped", "taken_over")
        done = _finished(client, job["id"])
    assert done["status"] == "SUCCEEDED", group.logs()
    assert group.stage_starts(job["id"]) == {"one": 1, "two": 1, "three": 1}  # stage two finished before exit
    assert done["worker_id"] != owner  # stage three ran on the other worker
    assert group.worker_status(owner) == "taken_over"


def test_sigterm_past_the_grace_period_leaves_the_stage_for_another_worker(group: Cluster) -> None:
    group.add_worker("w-a", env={"MONTAGE_SHUTDOWN_GRACE_S": "0.2"})
    group.add_worker("w-b", env={"MONTAGE_SHUTDOWN_GRACE_S": "0.2"})
    with MontageClient(group.apis[0].url) as client:
        job = client.submit("steps", {"seconds": 4})
        owner = str(_running_stage(client, job["id"], "one")["worker_id"])
        group.workers[owner].stop()
        done = _finished(client, job["id"])
    assert done["status"] == "SUCCEEDED", group.logs()
    assert group.stage_starts(job["id"]) == {"one": 2, "two": 1, "three": 1}


def test_a_stage_that_requires_a_label_runs_only_on_a_worker_with_it(group: Cluster) -> None:
    group.add_worker("w-plain")
    with MontageClient(group.apis[0].url) as client:
        gpu_job = client.submit("steps-gpu", {"seconds": 0})
        plain_job = client.submit("noop")
        assert _finished(client, plain_job["id"])["worker_id"] == "w-plain"
        assert client.job(gpu_job["id"])["status"] == "QUEUED"  # nobody with the label yet
        group.add_worker("w-gpu", labels="gpu,cpu")
        done = _finished(client, gpu_job["id"])
    assert done["status"] == "SUCCEEDED" and done["worker_id"] == "w-gpu"
    assert group.worker_row("w-gpu")["labels"]["labels"] == ["cpu", "gpu"]
