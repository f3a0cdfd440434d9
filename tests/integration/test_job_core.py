"""The job core's behaviour, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from montage import errors
from montage.domain.jobs import JobStatus, StageStatus
from montage.services.jobs import SubmitJob
from montage.store.jobs import count_jobs, utcnow
from tests.integration.conftest import Core
from tests.support.waiting import wait_for


def test_noop_job_runs_to_success_and_records_events(core: Core) -> None:
    job = core.submit("noop")
    assert job.status == JobStatus.QUEUED
    done = core.wait_status(job.id, "SUCCEEDED")
    assert done.progress == 100.0 and done.ended_at is not None and done.worker_id
    kinds = [e.kind for e in core.jobs.events_after(job.id, 0)]
    assert kinds[0] == "status" and kinds[-1] == "done"
    ids = [e.id for e in core.jobs.events_after(job.id, 0)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert (core.runtime.assets.job_dir(job.id) / "manifest.json").is_file()


def test_unknown_pipeline_is_refused_listing_known_ones_and_writes_nothing(core: Core) -> None:
    with pytest.raises(errors.UnknownPipeline) as info:
        core.submit("no-such-pipeline")
    assert "noop" in info.value.details["allowed"]
    with core.runtime.db.read() as s:
        assert count_jobs(s) == 0


def test_bad_input_names_the_field(core: Core) -> None:
    with pytest.raises(errors.ValidationFailed) as info:
        core.submit("demo", {"seconds": "soon"})
    assert info.value.details["field"] == "input.seconds"
    with core.runtime.db.read() as s:
        assert count_jobs(s) == 0


def test_reject_reruns_the_stage_with_feedback_then_approve_finishes(core: Core) -> None:
    job = core.submit("demo", {"seconds": 0.05})
    core.wait_status(job.id, "WAITING_APPROVAL")
    with pytest.raises(errors.WrongStage) as wrong:
        core.jobs.approve(job.id, "publish")
    assert wrong.value.details["expected"] == "draft"
    core.jobs.reject(job.id, "draft", "needs more detail", "see notes")
    waiting = core.wait_status(job.id, "WAITING_APPROVAL")
    assert waiting.stage("draft").revision == 1  # type: ignore[union-attr]
    core.jobs.approve(job.id, "draft", "good now")
    core.wait_status(job.id, "SUCCEEDED")
    runs = core.stage_runs(job.id, "draft")
    assert len(runs) == 2 and '"feedback": "needs more detail"' in runs[1]
    decisions = [(a.decision, a.reason) for a in core.jobs.approvals(job.id)]
    assert decisions == [("REJECTED", "needs more detail"), ("APPROVED", None)]


def test_approve_when_not_waiting_is_a_conflict_naming_the_status(core: Core) -> None:
    job = core.submit("noop")
    core.wait_status(job.id, "SUCCEEDED")
    with pytest.raises(errors.NotWaitingApproval) as info:
        core.jobs.approve(job.id, "noop")
    assert info.value.details["status"] == "SUCCEEDED"


def test_unknown_job_is_not_found(core: Core) -> None:
    with pytest.raises(errors.JobNotFound):
        core.jobs.get("job_missing")


def test_cancel_interrupts_the_running_stage_and_no_later_stage_runs(core: Core) -> None:
    job = core.submit("steps", {"seconds": 30})
    core.wait_status(job.id, "RUNNING")
    canceled = core.jobs.cancel(job.id)
    assert canceled.status == JobStatus.CANCELED
    # the generator notices within its polling interval and the stage ends canceled
    wait_for(lambda: job.id not in core.engine.running, timeout=5, what="stage to stop")
    final = core.jobs.get(job.id)
    assert final.status == JobStatus.CANCELED
    assert core.stage_runs(job.id, "two") == [] and core.stage_runs(job.id, "three") == []
    with pytest.raises(errors.NotCancelable):
        core.jobs.cancel(job.id)


def test_a_cancel_written_by_another_process_stops_the_stage_through_the_shared_read(core: Core) -> None:
    """The executor reads the jobs of its running stages in one query; a stage learns of a
    cancel that another process wrote (no local forget) from that read."""
    from montage.services.jobs import JobService

    class ElsewhereDispatcher:  # another API replica: its cancel does not reach this executor's memory
        def enqueue(self, job: object) -> None: ...
        def cancel(self, workflow_id: str) -> None: ...
        def wake(self, workflow_id: str) -> None: ...

    watch = core.engine.execution.interruptions
    assert watch is not None
    job = core.submit("steps", {"seconds": 30})
    core.wait_status(job.id, "RUNNING")
    # a refresh may have read the job in the moment between its stage slot and its start
    seen = wait_for(lambda: (st := watch.state(job.id)) and st.status == JobStatus.RUNNING and st, timeout=5,
                    what="the executor to read the running job")
    assert seen.workflow_id == job.workflow_id
    JobService(core.runtime, ElsewhereDispatcher()).cancel(job.id)
    wait_for(lambda: job.id not in core.engine.running, timeout=5, what="stage to stop")
    assert core.jobs.get(job.id).status == JobStatus.CANCELED
    assert core.stage_runs(job.id, "two") == []
    wait_for(lambda: watch.state(job.id) is None, timeout=5, what="the ended job to be forgotten")


def test_retry_resumes_at_the_failed_stage_and_reuses_earlier_outputs(core: Core) -> None:
    job = core.submit("steps", {"fail_times": 2})
    failed = core.wait_status(job.id, "FAILED")
    assert failed.error is not None and failed.error.code == "PLANNED_FAILURE"
    assert failed.stage("two").attempts == 2  # type: ignore[union-attr]
    with pytest.raises(errors.NotRetryable):
        core.jobs.retry(core.wait_status(core.submit("noop").id, "SUCCEEDED").id)
    core.jobs.retry(job.id)
    done = core.wait_status(job.id, "SUCCEEDED")
    assert done.attempts == 2
    assert len(core.stage_runs(job.id, "one")) == 1  # not run again
    assert len(core.stage_runs(job.id, "two")) == 1 and len(core.stage_runs(job.id, "three")) == 1


def test_stage_retries_with_backoff_then_succeeds(core: Core) -> None:
    job = core.submit("steps", {"fail_times": 1})
    done = core.wait_status(job.id, "SUCCEEDED")
    assert done.stage("two").attempts == 2  # type: ignore[union-attr]
    assert done.stage("two").status == StageStatus.SUCCEEDED  # type: ignore[union-attr]


def test_timeout_fails_the_job_with_code_timeout(core: Core) -> None:
    job = core.submit("steps", {"seconds": 20}, timeout_s=0.5)
    failed = core.wait_status(job.id, "FAILED", timeout=15)
    assert failed.error is not None and failed.error.code == "TIMEOUT"


def test_idempotency_key_returns_the_same_job(core: Core) -> None:
    first = core.submit("noop", idempotency_key="abc")
    second, created = core.jobs.submit(SubmitJob(pipeline="noop", idempotency_key="abc"))
    assert second.id == first.id and created is False


def test_schedule_for_delays_the_start(core: Core) -> None:
    start_after = utcnow() + timedelta(seconds=1.5)
    job = core.submit("noop", schedule_for=start_after)
    done = core.wait_status(job.id, "SUCCEEDED", timeout=20)
    assert done.started_at is not None and done.started_at >= start_after - timedelta(milliseconds=50)


def test_cancel_a_scheduled_job_before_it_starts(core: Core) -> None:
    job = core.submit("noop", schedule_for=utcnow() + timedelta(seconds=60))
    core.jobs.cancel(job.id)
    assert core.jobs.get(job.id).status == JobStatus.CANCELED
    assert core.jobs.get(job.id).started_at is None


def test_an_attempt_that_outlives_a_cancel_and_retry_changes_nothing_of_the_new_run(core: Core) -> None:
    import threading
    from typing import Any, ClassVar

    from montage.domain.pipelines import PipelineSpec, StageSpec
    from montage.generators.base import GeneratorConfig, StageContext
    from montage.generators.registry import register
    from montage.pipelines import register_pipeline

    entered = {1: threading.Event(), 2: threading.Event()}
    release = {1: threading.Event(), 2: threading.Event()}

    class Stubborn:
        """Never checks for cancel: a generator stuck in one long call."""

        name: ClassVar[str] = "test.stubborn"
        Config: ClassVar[type[GeneratorConfig]] = GeneratorConfig

        def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
            run = 1 if not entered[1].is_set() else 2
            entered[run].set()
            assert release[run].wait(30)
            ctx.progress(50, f"run {run} half way")
            return {"run": run}

    execution = core.engine.execution
    completed: list[tuple[str | None, dict[str, Any]]] = []
    first_done = threading.Event()
    complete_stage = execution.complete_stage

    def recording(start: Any, outputs: dict[str, Any]) -> dict[str, Any]:
        result = complete_stage(start, outputs)
        completed.append((start.job.workflow_id, result))
        if outputs == {"run": 1}:
            first_done.set()
        return result

    execution.complete_stage = recording  # type: ignore[method-assign]
    register(Stubborn)
    register_pipeline(PipelineSpec(name="test-stubborn", version="1", description="test",
                                   stages=(StageSpec("only", "test.stubborn"),)))
    try:
        job = core.submit("test-stubborn")
        assert entered[1].wait(30)
        core.jobs.cancel(job.id)
        retried = core.jobs.retry(job.id)
        assert execution.interruption(job.id, job.workflow_id) == "canceled"  # the old run is told to stop
        assert execution.interruption(job.id, retried.workflow_id) is None
        assert entered[2].wait(30)
        release[1].set()  # the canceled run comes back while the retried one works
        assert first_done.wait(30)
        assert completed == [(job.workflow_id, {"status": "ended", "stage": "only"})]
        running = core.jobs.get(job.id)
        assert running.status == JobStatus.RUNNING
        assert running.stage("only").status == StageStatus.RUNNING  # type: ignore[union-attr]
        release[2].set()
        done = core.wait_status(job.id, "SUCCEEDED")
        assert done.stage("only").outputs == {"run": 2}  # type: ignore[union-attr]
        messages = [e.message for e in core.jobs.events_after(job.id, 0)]
        assert "run 2 half way" in messages and "run 1 half way" not in messages
    finally:
        release[1].set()
        release[2].set()


def test_a_reading_from_before_a_retry_does_not_stop_the_retried_run(core: Core) -> None:
    """The executor's reading of a job may predate a retry by up to a refresh; it names the old
    run's workflow, which must not count as 'another run owns the job' for the new run."""
    from montage.services.execution import ExecutionService
    from montage.services.interruptions import JobInterruptions

    job = core.submit("steps", {"seconds": 30})
    core.wait_status(job.id, "RUNNING")
    core.jobs.cancel(job.id)
    wait_for(lambda: job.id not in core.engine.running, timeout=5, what="stage to stop")
    watch = JobInterruptions(core.runtime.db)
    watch.refresh([job.id])  # the canceled first run, as a refresh just before the retry read it
    retried = core.jobs.retry(job.id)
    execution = ExecutionService(core.runtime)
    execution.interruptions = watch
    assert execution.interruption(job.id, retried.workflow_id) is None
    assert execution.interruption(job.id, job.workflow_id) == "canceled"
