"""The durable pipeline: one DBOS workflow per job run, one step per stage attempt.

A restart resumes after the last checkpointed step, so a finished stage never runs again;
each step also checks the tables first, so a step that finished its work but died before
its checkpoint does not redo it either.
"""

from __future__ import annotations

import logging
from typing import Any

from dbos import DBOS

from montage.engine.context import EngineStageContext
from montage.engine.state import current
from montage.engine.steps import durable_step
from montage.errors import GeneratorError, JobCanceled, JobTimedOut
from montage.generators.registry import get_generator
from montage.services.execution import StageStart

log = logging.getLogger("montage.engine")

GATE_TOPIC = "gate"
_GATE_POLL_S = 30.0


@DBOS.workflow(name="montage.job")
def job_workflow(job_id: str) -> str:
    """Run the job's stages one step each until it ends. A step starts the next stage, runs it
    and records what follows (gate, next stage, success) in the stage's own transactions, so a
    one-stage job is one step; gates and retries are decided here, between steps."""
    failures = 0
    while True:
        result = run_stage_step(job_id)
        status, stage = result["status"], result.get("stage")
        if status == "error":
            failures += 1
            if not result["retryable"] or failures >= result["max_attempts"]:
                return fail_job_step(job_id, result["code"], result["message"],
                                     {"stage": stage, "attempts": failures})
            DBOS.sleep(min(30.0, result["backoff_s"] * 2 ** (failures - 1)))
            continue
        failures = 0
        if status == "gate":
            status = _wait_for_decision(job_id, str(stage))
            if status in ("approved", "rejected"):
                continue
        if status == "ok":
            continue
        if status == "timeout":
            return fail_job_step(job_id, "TIMEOUT", "the job ran past its timeout", {"stage": stage})
        return "SUCCEEDED" if status == "done" else status  # or canceled, ended


def _wait_for_decision(job_id: str, stage: str) -> str:
    while True:
        decision = gate_decision_step(job_id, stage)
        if decision != "pending":
            return decision
        DBOS.recv(GATE_TOPIC, timeout_seconds=_GATE_POLL_S)


@durable_step("montage.fail_job")
def fail_job_step(job_id: str, code: str, message: str, details: dict[str, Any]) -> str:
    return current().execution.fail_job(job_id, code, message, details)


@durable_step("montage.gate_decision")
def gate_decision_step(job_id: str, stage: str) -> str:
    return current().execution.gate_decision(job_id, stage).outcome


@durable_step("montage.run_stage")
def run_stage_step(job_id: str) -> dict[str, Any]:
    """One attempt of the job's next stage. Returns how it went; never raises for the stage's
    own errors."""
    engine = current()
    # with strict_start_order, several dequeued at once still start in queue order (looked up
    # before the job counts as running here, so the executor's reading of its running jobs does
    # not catch it queued)
    first = engine.start_turns.ahead_claimed(job_id) if engine.settings.strict_start_order else []
    with engine.stage_slot(job_id):  # a draining executor starts no new stage and waits for this one
        return _run_stage(engine, job_id, first)


def _run_stage(engine: Any, job_id: str, first: list[tuple[str, str]]) -> dict[str, Any]:
    execution = engine.execution
    start = execution.start_next_stage(job_id, engine.executor_id, DBOS.workflow_id, first=first)
    if not isinstance(start, StageStart):
        return start
    run = start.stage
    generator = get_generator(run.generator)
    ctx = EngineStageContext(
        execution=execution, job_id=job_id, pipeline=start.job.pipeline, stage=run.name, attempt=run.attempts,
        input=start.job.input, outputs={s.name: s.outputs for s in start.job.stages if s.position < run.position},
        feedback=execution.feedback_for(job_id, run.name) if run.revision else None, revision=run.revision,
        workdir=engine.runtime.assets.workdir(job_id), seed=_seed(job_id), stage_index=start.index,
        stage_count=start.count, host=engine.stage_services, workflow_id=start.job.workflow_id,
    )
    try:
        config = generator.Config.model_validate(start.params)
        outputs = generator.run(ctx, config)
    except JobCanceled:
        return {"status": "canceled", "stage": run.name}
    except JobTimedOut:
        return {"status": "timeout", "stage": run.name}
    except GeneratorError as exc:
        return _stage_error(execution, start, exc.code, exc.message, exc.retryable)
    except Exception as exc:  # a generator's bug must fail the stage, not the engine
        log.exception("stage %s of job %s crashed", run.name, job_id)
        return _stage_error(execution, start, "STAGE_FAILED", f"{type(exc).__name__}: {exc}", True)
    return execution.complete_stage(start, outputs or {})


def _stage_error(execution: Any, start: StageStart, code: str, message: str, retryable: bool
                 ) -> dict[str, Any]:
    stage = start.stage
    execution.fail_stage(start, code, message, retryable)
    return {"status": "error", "stage": stage.name, "code": code, "message": message, "retryable": retryable,
            "max_attempts": stage.max_attempts, "backoff_s": stage.backoff_s}


def _seed(job_id: str) -> int:
    import zlib

    return zlib.crc32(job_id.encode()) & 0x7FFFFFFF
