"""The durable pipeline: one DBOS workflow per job run, one step per stage attempt.

A restart resumes after the last checkpointed step, so a finished stage never runs again;
each step also checks the tables first, so a step that finished its work but died before
its checkpoint does not redo it either.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from dbos import DBOS

from montage.engine.context import EngineStageContext
from montage.engine.state import current
from montage.errors import GeneratorError, JobCanceled, JobTimedOut
from montage.generators.registry import get_generator
from montage.services.execution import StagePlan

log = logging.getLogger("montage.engine")

GATE_TOPIC = "gate"
_GATE_POLL_S = 30.0


@DBOS.workflow(name="montage.job")
def job_workflow(job_id: str) -> str:
    plans = begin_job_step(job_id)
    if plans is None:
        return "skipped"
    for index, raw in enumerate(plans):
        plan = StagePlan(**raw)
        if plan.status == "SUCCEEDED":
            continue
        outcome = _run_until_accepted(job_id, plan, index, len(plans))
        if outcome != "ok":
            return outcome
    return finish_job_step(job_id)


def _run_until_accepted(job_id: str, plan: StagePlan, index: int, count: int) -> str:
    """Run a stage (with retries), then hold at its gate until approved; rerun on reject."""
    waiting = plan.status == "WAITING_APPROVAL"
    while True:
        if not waiting:
            outcome = _run_with_retries(job_id, plan, index, count)
            if outcome != "ok" or not plan.approval:
                return outcome
        waiting = False
        open_gate_step(job_id, plan.name)
        decision = _wait_for_decision(job_id, plan.name)
        if decision == "approved":
            return "ok"
        if decision == "rejected":
            continue
        if decision == "timeout":
            return fail_job_step(job_id, "TIMEOUT", "the job ran past its timeout", {"stage": plan.name})
        return decision  # canceled


def _wait_for_decision(job_id: str, stage: str) -> str:
    while True:
        decision = gate_decision_step(job_id, stage)
        if decision != "pending":
            return decision
        DBOS.recv(GATE_TOPIC, timeout_seconds=_GATE_POLL_S)


def _run_with_retries(job_id: str, plan: StagePlan, index: int, count: int) -> str:
    attempt = 0
    while True:
        attempt += 1
        result = run_stage_step(job_id, plan.name, plan.approval, index, count)
        status = result["status"]
        if status in ("ok", "canceled", "ended"):
            return status
        if status == "timeout":
            return fail_job_step(job_id, "TIMEOUT", "the job ran past its timeout", {"stage": plan.name})
        if not result.get("retryable", True) or attempt >= plan.max_attempts:
            return fail_job_step(job_id, result["code"], result["message"],
                                 {"stage": plan.name, "attempts": attempt})
        DBOS.sleep(min(30.0, plan.backoff_s * 2 ** (attempt - 1)))


@DBOS.step(name="montage.begin_job")
def begin_job_step(job_id: str) -> list[dict[str, Any]] | None:
    engine = current()
    plans = engine.execution.begin_job(job_id, engine.executor_id)
    return None if plans is None else [asdict(p) for p in plans]


@DBOS.step(name="montage.finish_job")
def finish_job_step(job_id: str) -> str:
    return current().execution.finish_job(job_id)


@DBOS.step(name="montage.fail_job")
def fail_job_step(job_id: str, code: str, message: str, details: dict[str, Any]) -> str:
    return current().execution.fail_job(job_id, code, message, details)


@DBOS.step(name="montage.open_gate")
def open_gate_step(job_id: str, stage: str) -> None:
    current().execution.open_gate(job_id, stage)


@DBOS.step(name="montage.gate_decision")
def gate_decision_step(job_id: str, stage: str) -> str:
    return current().execution.gate_decision(job_id, stage).outcome


@DBOS.step(name="montage.run_stage")
def run_stage_step(job_id: str, stage: str, gate: bool, index: int, count: int) -> dict[str, Any]:
    """One attempt of one stage. Returns how it went; never raises for the stage's own errors."""
    engine = current()
    with engine.stage_slot():  # a draining executor starts no new stage and waits for this one
        return _run_stage(engine, job_id, stage, gate, index, count)


def _run_stage(engine: Any, job_id: str, stage: str, gate: bool, index: int, count: int) -> dict[str, Any]:
    execution = engine.execution
    started = execution.start_stage(job_id, stage, engine.executor_id)
    if isinstance(started, str):
        return {"status": "ok" if started == "done" else started}
    job, params = started
    run = job.stage(stage)
    assert run is not None
    generator = get_generator(run.generator)
    ctx = EngineStageContext(
        execution=execution, job_id=job_id, pipeline=job.pipeline, stage=stage, attempt=run.attempts,
        input=job.input, outputs={s.name: s.outputs for s in job.stages if s.position < run.position},
        feedback=execution.feedback_for(job_id, stage) if run.revision else None, revision=run.revision,
        workdir=engine.runtime.assets.workdir(job_id), seed=_seed(job_id), stage_index=index,
        stage_count=count, host=engine.stage_services,
    )
    engine.running.add(job_id)
    try:
        config = generator.Config.model_validate(params)
        outputs = generator.run(ctx, config)
    except JobCanceled:
        return {"status": "canceled"}
    except JobTimedOut:
        return {"status": "timeout"}
    except GeneratorError as exc:
        return _stage_error(execution, job_id, stage, exc.code, exc.message, exc.retryable)
    except Exception as exc:  # a generator's bug must fail the stage, not the engine
        log.exception("stage %s of job %s crashed", stage, job_id)
        return _stage_error(execution, job_id, stage, "STAGE_FAILED", f"{type(exc).__name__}: {exc}", True)
    finally:
        engine.running.discard(job_id)
    execution.complete_stage(job_id, stage, outputs or {}, gate)
    return {"status": "ok"}


def _stage_error(execution: Any, job_id: str, stage: str, code: str, message: str, retryable: bool
                 ) -> dict[str, Any]:
    execution.fail_stage(job_id, stage, code, message, retryable)
    return {"status": "error", "code": code, "message": message, "retryable": retryable}


def _seed(job_id: str) -> int:
    import zlib

    return zlib.crc32(job_id.encode()) & 0x7FFFFFFF
