"""The ``batch`` stage service: what a batch execution's parent job and its items ask of montage.

Every method may run again after a crash (a recovered stage repeats it): items are created once
per (execution, index) key, progress is recomputed from the item jobs, and an execution that has
ended is never changed again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from montage.domain.batch import FROM_JOB as ITEM_STATUS
from montage.domain.batch import ExecutionStatus, ItemState, final_status, summarise
from montage.domain.servers import server_queue
from montage.errors import GeneratorError, MontageError, ServerNotFound
from montage.generators.builtin.batch.ports import Endpoint, ItemSpec, Progress, RunPlan
from montage.pipelines.batch import FACADE, ITEM_PIPELINE
from montage.services.batch_folders import FolderRequest, scan
from montage.services.jobs import JobService, SubmitJob
from montage.store import batch as repo
from montage.store import servers as servers_repo
from montage.store.jobs import utcnow

_SERVER_POLL_S = 0.5
_SUBMIT_CHUNK = 100


def item_owner(execution_id: int) -> str:
    """The owner of an execution's item jobs (their idempotency key is the item's index)."""
    return f"batch:{execution_id}"


class BatchHost:
    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs
        self.db = jobs.db
        self.settings = jobs.settings

    # -- the parent job ------------------------------------------------------------------------
    def start_run(self, execution_id: int) -> RunPlan:
        """The execution's items (scanning its folders), marking it running."""
        with self.db.transaction() as s:
            execution = repo.load_execution(s, execution_id)
            repo.update_execution(s, execution_id, only_if_open=True, status=ExecutionStatus.RUNNING.value,
                                  started_at=execution.started_at or utcnow(), message="scanning folders")
        plan = execution.plan
        if plan.get("folders"):
            found, note = scan(FolderRequest(**plan["folders"]), self.settings.upload_roots)
            items = [asdict(i) for i in found]
        else:  # a task without folders runs its workflow once
            items, note = [{"index": 0, "folder": None, "name": plan.get("task_name") or "run",
                            "output_dir": None}], ""
        pending = [ItemState(i["index"], i["name"], i["folder"], "", ExecutionStatus.PENDING) for i in items]
        with self.db.transaction() as s:
            repo.update_execution(s, execution_id, only_if_open=True, result=summarise(pending),
                                  message=note or f"{len(items)} items to process")
        return RunPlan(items=items, message=note)

    def submit_items(self, parent_job_id: str, execution_id: int, items: list[dict[str, Any]]) -> list[str]:
        """One job per item, created once; items queued before a crash are queued again (DBOS
        keeps one workflow per id, so an item already queued is not queued twice)."""
        owner = item_owner(execution_id)
        with self.db.read() as s:
            plan = repo.load_execution(s, execution_id).plan
            existing = repo.child_jobs(s, owner)
        server = plan["server_name"]
        missing = [i for i in items if str(i["index"]) not in existing]
        key_id = self.jobs.get(parent_job_id).key_id if missing else None  # items belong to the run's API key
        requests = [SubmitJob(pipeline=ITEM_PIPELINE, facade=FACADE, owner=owner, idempotency_key=str(i["index"]),
                              key_id=key_id,
                              queue=server_queue(server), options={"parent_id": parent_job_id},
                              timeout_s=self.settings.batch_timeout_s,
                              input={**i, "execution_id": execution_id, "server_type": plan["server_type"]})
                    for i in missing]
        for start in range(0, len(requests), _SUBMIT_CHUNK):
            self.jobs.submit_many(requests[start:start + _SUBMIT_CHUNK])
        for child in existing.values():
            if child.status == "QUEUED":
                with contextlib.suppress(Exception):
                    self.jobs.dispatcher.enqueue(self.jobs.get(child.id))
        with self.db.read() as s:
            children = repo.child_jobs(s, owner)
        return [children[str(i["index"])].id for i in items]

    def _states(self, execution_id: int) -> tuple[list[ItemState], int]:
        with self.db.read() as s:
            execution = repo.load_execution(s, execution_id)
            children = repo.child_jobs(s, item_owner(execution_id))
        total = int((execution.result or {}).get("total", len(children)))
        states = []
        for index in range(total):
            child = children.get(str(index))
            if child is None:
                states.append(ItemState(index, "", None, "", ExecutionStatus.PENDING))
                continue
            status = ITEM_STATUS[child.status]
            states.append(ItemState(index, str(child.input.get("name", "")), child.input.get("folder"), child.id,
                                    status, list(child.outputs.get("outputs") or []),
                                    child.error if status != ExecutionStatus.COMPLETED else None))
        return states, total

    def item_statuses(self, execution_id: int) -> tuple[tuple[str, int], ...]:
        """(status, count) of the execution's items: cheap, to poll between progress records."""
        with self.db.read() as s:
            return repo.child_status_counts(s, item_owner(execution_id))

    def record_progress(self, execution_id: int) -> Progress:
        states, total = self._states(execution_id)
        result = summarise(states)
        finished = result["finished"]
        message = f"{finished} of {total} items done" + (f", {result['fail_count']} failed" if result["fail_count"]
                                                        else "")
        with self.db.transaction() as s:
            current = repo.load_execution(s, execution_id)
            if current.result != result:
                repo.update_execution(s, execution_id, only_if_open=True, result=result, message=message,
                                      progress=finished / total if total else 1.0)
        return Progress(finished, total, message)

    def finish_run(self, execution_id: int, note: str = "") -> dict[str, Any]:
        """Record the outcome (completed unless every item failed) and free the server."""
        self.record_progress(execution_id)
        with self.db.transaction() as s:
            execution = repo.load_execution(s, execution_id)
            result = execution.result or summarise([])
            status = final_status(result)
            failed = [i for i in result.get("items", []) if i["status"] != ExecutionStatus.COMPLETED.value]
            error = (f"{len(failed)} of {result['total']} items did not complete; first: {failed[0]['folder']}: "
                     f"{failed[0]['error']}") if failed else None
            message = note if not result["total"] else \
                f"{result['success_count']} of {result['total']} items completed" + (f"; {note}" if note else "")
            repo.update_execution(s, execution_id, only_if_open=True, status=status.value, progress=1.0,
                                  message=message, error_message=error, finished_at=utcnow())
            servers_repo.release(s, execution.server_name, execution.task_id)
        return result

    def cancel_items(self, execution_id: int, reason: str) -> int:
        with self.db.read() as s:
            children = repo.child_jobs(s, item_owner(execution_id))
        cancelled = 0
        for child in children.values():
            if child.status not in ("SUCCEEDED", "FAILED", "CANCELED"):
                with contextlib.suppress(MontageError):  # it ended meanwhile
                    self.jobs.cancel(child.id, reason)
                    cancelled += 1
        return cancelled

    # -- the items -----------------------------------------------------------------------------
    def item_spec(self, execution_id: int) -> ItemSpec:
        with self.db.read() as s:
            plan = repo.load_execution(s, execution_id).plan
        workflow = plan["workflow"]
        return ItemSpec(server_name=plan["server_name"], workflow_config=workflow["workflow_config"],
                        input_mapping=workflow["input_mapping"], output_mapping=workflow["output_mapping"],
                        parameters=plan.get("parameters") or {})

    def wait_for_server(self, name: str, check_cancelled: Callable[[], None]) -> Endpoint:
        """The server once it takes work (enabled, online or busy). While it does not, an item
        waits until the server has been away ``server_wait_s`` — counted from when it went away,
        not from when this item began to wait, so the items queued behind it in a batch fail
        together instead of each waiting ``server_wait_s`` again — then ``SERVER_UNAVAILABLE``."""
        limit = self.settings.server_wait_s
        while True:
            with self.db.read() as s:
                server = servers_repo.find_server(s, name)
            if server is None:
                raise GeneratorError(f"server {name!r} was deleted", code=ServerNotFound.code, retryable=False)
            if server.takes_work:
                return Endpoint(server.name, server.url, server.type.value)
            since = server.away_since()
            if (utcnow() - since).total_seconds() >= limit:
                state = server.state_words
                raise GeneratorError(f"server {name!r} has been {state} since {since:%Y-%m-%dT%H:%M:%SZ}, longer "
                                     f"than server_wait_s ({limit:g} s); the item was not run",
                                     code="SERVER_UNAVAILABLE", retryable=False, server=name, status=state)
            check_cancelled()
            time.sleep(_SERVER_POLL_S)
