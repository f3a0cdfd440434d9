"""The task-manager facade's semantics on the job core, on SQLite and PostgreSQL.

One core per backend for the whole module (a fresh database each), one executor running one
job at a time, so queue order is observable; each test uses its own kb_id.
"""

from __future__ import annotations

import shutil
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from montage import errors, outbound
from montage.domain.jobs import JobStatus
from montage.domain.tasks import TaskView
from montage.engine.runtime import Engine
from montage.services.jobs import JobService
from montage.services.kb import KnowledgeService
from montage.services.runtime import Runtime
from montage.services.task_stats import TaskStats
from montage.services.tasks import NewTask, NotProcessing, TaskService
from montage.store.jobs import utcnow
from tests.integration.conftest import make_settings
from tests.support.databases import BACKEND_PARAMS, fresh_database
from tests.support.documents import make_pdf
from tests.support.http_target import HttpTarget
from tests.support.waiting import wait_for

ENDED = {"SUCCEEDED", "FAILED", "CANCELED"}
DATA = Path(__file__).resolve().parents[1] / "data" / "kb"


@dataclass
class TaskCore:
    runtime: Runtime
    engine: Engine
    tasks: TaskService
    knowledge: KnowledgeService
    uploads: Path
    http: HttpTarget

    @property
    def target(self) -> str:
        return self.http.url

    def create(self, task_type: str, kb_id: str, payload: dict[str, Any], **kwargs: Any) -> TaskView:
        return self.tasks.create(NewTask(task_type=task_type, kb_id=kb_id, payload=payload, **kwargs))

    def wait(self, task_id: str, *statuses: str, timeout: float = 60.0) -> TaskView:
        wanted = set(statuses or ENDED)
        return wait_for(lambda: (v := self.tasks.get(task_id)) and v.job.status.value in wanted and v,
                        timeout=timeout, what=f"{task_id} to reach {wanted}")

    def blocker(self, kb_id: str, seconds: float = 1.5) -> TaskView:
        """A task holding the only execution slot for ``seconds``."""
        view = self.create("health_check", kb_id, {"url": f"{self.target}/slow?s={seconds}", "timeout": 30})
        return self.wait(view.job.id, "RUNNING")


@pytest.fixture(scope="module")
def target() -> Iterator[HttpTarget]:
    with HttpTarget() as server:
        yield server


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def tc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
       target: HttpTarget) -> Iterator[TaskCore]:
    tmp = tmp_path_factory.mktemp(f"tasks-{request.param}")
    uploads = tmp / "uploads"
    uploads.mkdir()
    with fresh_database(request.param, tmp) as url:
        settings = make_settings(tmp, url, worker_concurrency=1, task_retry_backoff_s=0.05, heartbeat_interval_s=0.5,
                                 allowed_roots=[uploads])
        runtime = Runtime.open(settings)
        engine = Engine(runtime, role="serve", executes=True)
        engine.launch()
        tasks = TaskService(JobService(runtime, engine), TaskStats(runtime))
        try:
            yield TaskCore(runtime, engine, tasks, KnowledgeService(runtime), uploads, target)
        finally:
            engine.shutdown()
            runtime.close()


def kb() -> str:
    return f"kb_{uuid.uuid4().hex[:8]}"


def test_a_document_task_runs_and_reports_its_result(tc: TaskCore) -> None:
    kb_id = kb()
    path = tc.uploads / f"{kb_id}.txt"
    path.write_text("Queues hand work to workers.\n\n" + "Every task has a priority. " * 20)
    created = tc.create("document_processing", kb_id, {"file_path": str(path), "chunk_size": 200,
                                                        "chunk_overlap": 40}, priority="high")
    assert created.queue_position >= 1 and created.estimated_completion is not None
    done = tc.wait(created.job.id)
    job = done.job
    assert job.status == JobStatus.SUCCEEDED and job.worker_id == tc.engine.executor_id
    assert done.queue_position == 0 and done.estimated_completion == job.ended_at
    outputs = job.stages[0].outputs
    assert outputs["chunks"] >= 3 and outputs["chunk_size"] == 200
    summary = tc.knowledge.get(kb_id)
    assert summary.documents == 1 and summary.chunks == outputs["chunks"]
    assert summary.model is None and summary.embedded == 0 and summary.vectors == 0
    not_embedded = tc.wait(tc.create("vector_storage", kb_id, {}).job.id).job
    assert not_embedded.status == JobStatus.FAILED and not_embedded.error is not None
    assert not_embedded.error.code == "KB_NOT_EMBEDDED"
    again = tc.wait(tc.create("document_processing", kb_id, {"file_path": str(path)}).job.id)
    assert again.job.status == JobStatus.SUCCEEDED
    assert tc.knowledge.get(kb_id).documents == 1  # the same file again replaces, never duplicates


def test_bad_input_is_refused_before_anything_is_created(tc: TaskCore) -> None:
    kb_id = kb()
    locked = make_pdf(tc.uploads / f"{kb_id}.pdf", [["secret"]], password="pw")
    cases: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
        ("document_processing", {"file_path": str(locked)}, {}, "PDF_ENCRYPTED"),
        ("document_processing", {"file_path": "/etc/hostname"}, {}, "PATH_NOT_ALLOWED"),
        ("document_processing", {"file_path": str(tc.uploads / "missing.txt")}, {}, "FILE_NOT_FOUND"),
        ("document_processing", {}, {}, "VALIDATION_ERROR"),
        ("video_rendering", {}, {}, "VALIDATION_ERROR"),
        ("health_check", {"url": "ftp://x"}, {}, "VALIDATION_ERROR"),
        ("noop", {}, {"priority": "urgent"}, "VALIDATION_ERROR"),
        ("noop", {}, {"schedule_for": utcnow() - timedelta(minutes=1)}, "VALIDATION_ERROR"),
        ("noop", {}, {"max_retries": 11}, "VALIDATION_ERROR"),
        ("noop", {}, {"timeout_s": 0}, "VALIDATION_ERROR"),
    ]
    for task_type, payload, extra, code in cases:
        with pytest.raises(errors.ValidationFailed) as info:
            tc.create(task_type, kb_id, payload, **extra)
        assert info.value.code == code, (task_type, payload, extra, info.value.message)
    with pytest.raises(errors.ValidationFailed) as missing_kb:
        tc.create("noop", "", {})
    assert missing_kb.value.details["field"] == "kb_id"
    assert tc.tasks.list(kb_id=kb_id)[1] == 0


def test_priorities_run_highest_first_fifo_within_one_and_positions_are_true(tc: TaskCore) -> None:
    kb_id = kb()
    tc.blocker(kb_id)
    order = ["low", "normal", "high", "critical", "high"]
    views = [tc.create("noop", kb_id, {"n": i}, priority=p) for i, p in enumerate(order)]
    assert [v.queue_position for v in views] == [1, 1, 1, 1, 3]
    now = {v.job.input["payload"]["n"]: tc.tasks.get(v.job.id) for v in views}
    assert [now[i].queue_position for i in range(5)] == [5, 4, 2, 1, 3]
    by_position = sorted(now.values(), key=lambda v: v.queue_position)
    etas = [v.estimated_completion for v in by_position]
    assert etas == sorted(etas)  # type: ignore[type-var]
    finished = [tc.wait(v.job.id).job for v in views]
    started = sorted(finished, key=lambda j: j.started_at)  # type: ignore[arg-type, return-value]
    assert [j.input["payload"]["n"] for j in started] == [3, 2, 4, 1, 0]


def test_cancel_retry_and_progress_follow_the_contract(tc: TaskCore) -> None:
    kb_id = kb()
    running = tc.blocker(kb_id, seconds=2.0)
    queued = tc.create("noop", kb_id, {})
    with pytest.raises(NotProcessing):
        tc.tasks.report_progress(queued.job.id, 10, "too early")
    reported = tc.tasks.report_progress(running.job.id, 40, "halfway there")
    assert reported.job.progress == 40 and reported.job.message == "halfway there"
    assert reported.estimated_completion is not None
    assert tc.tasks.cancel(queued.job.id).status == JobStatus.CANCELED
    with pytest.raises(errors.NotCancelable):
        tc.tasks.cancel(queued.job.id)
    retried = tc.tasks.retry(queued.job.id)
    assert retried.job.status == JobStatus.QUEUED and retried.queue_position == 1
    done = tc.wait(queued.job.id)
    assert done.job.status == JobStatus.SUCCEEDED
    with pytest.raises(errors.NotRetryable):
        tc.tasks.retry(queued.job.id)
    with pytest.raises(errors.NotCancelable):
        tc.tasks.cancel(queued.job.id)
    with pytest.raises(errors.JobNotFound):
        tc.tasks.get("job_missing")
    assert tc.wait(running.job.id).job.status == JobStatus.SUCCEEDED


def test_retries_with_backoff_count_and_a_timeout_fails_the_task(tc: TaskCore) -> None:
    kb_id = kb()
    flaky = tc.create("health_check", kb_id, {"url": f"{tc.target}/flaky?key={kb_id}&n=2"}, max_retries=3)
    failing = tc.create("health_check", kb_id, {"url": f"{tc.target}/fail"}, max_retries=1)
    never = tc.create("health_check", kb_id, {"url": f"{tc.target}/fail"}, max_retries=0)
    slow = tc.create("health_check", kb_id, {"url": f"{tc.target}/slow?s=1.5", "timeout": 30}, timeout_s=0.5)
    ok = tc.wait(flaky.job.id).job
    assert ok.status == JobStatus.SUCCEEDED and ok.stages[0].attempts == 3  # retry_count 2
    bad = tc.wait(failing.job.id).job
    assert bad.status == JobStatus.FAILED and bad.stages[0].attempts == 2
    assert bad.error is not None and bad.error.code == "HEALTH_CHECK_FAILED" and "unhealthy" in bad.error.message
    assert tc.wait(never.job.id).job.stages[0].attempts == 1
    timed_out = tc.wait(slow.job.id).job
    assert timed_out.status == JobStatus.FAILED and timed_out.error is not None
    assert timed_out.error.code == "TIMEOUT"


def test_a_timeout_or_cancel_stops_a_task_while_its_request_is_out(tc: TaskCore) -> None:
    kb_id = kb()
    held = tc.create("health_check", kb_id, {"url": f"{tc.target}/hold?key={kb_id}", "timeout": 60}, timeout_s=0.5,
                     max_retries=0)
    # the target holds the answer until released: the task must fail while the request is still out
    timed_out = tc.wait(held.job.id, timeout=20).job
    assert timed_out.status == JobStatus.FAILED and timed_out.error is not None
    assert timed_out.error.code == "TIMEOUT"

    running = tc.wait(tc.create("health_check", kb_id, {"url": f"{tc.target}/hold?key={kb_id}-c",
                                                         "timeout": 60}).job.id, "RUNNING")
    tc.tasks.cancel(running.job.id)
    wait_for(lambda: running.job.id not in tc.engine.running, timeout=20, what="the canceled stage to stop")
    retried = tc.tasks.retry(running.job.id)  # a new attempt, not the canceled one's late answer
    tc.http.release(f"{kb_id}-c")
    done = tc.wait(retried.job.id).job
    assert done.status == JobStatus.SUCCEEDED and done.stages[0].attempts == 2
    assert datetime.fromisoformat(done.stages[0].outputs["checked_at"]) >= retried.job.updated_at
    tc.http.release(kb_id)


def test_a_url_montage_may_not_call_is_refused_not_retried(tc: TaskCore) -> None:
    kb_id = kb()
    with pytest.raises(errors.ValidationFailed) as refused:
        tc.create("health_check", kb_id, {"url": "http://169.254.169.254/latest/meta-data"})
    assert refused.value.details["field"] == "payload.url" and "169.254.169.254" in refused.value.message
    by_name = tc.target.replace("127.0.0.1", "localhost")  # a name: checked only when it is called
    outbound.configure(allow_private=False)  # now the target, on loopback, is an address montage may not call
    try:
        failed = tc.wait(tc.create("health_check", kb_id, {"url": f"{by_name}/ok"}, max_retries=3).job.id).job
    finally:
        outbound.configure(allow_private=True)
    assert failed.status == JobStatus.FAILED and failed.error is not None
    assert failed.error.code == "URL_REFUSED" and failed.stages[0].attempts == 1


def test_health_names_the_failing_dependency_and_a_full_queue(tc: TaskCore, monkeypatch: pytest.MonkeyPatch) -> None:
    from montage.services.health import HealthService

    queues = {"status": "healthy", "queues": ["default"]}
    health = HealthService(tc.runtime, lambda: dict(queues))
    report = health.report()
    assert report.status == "healthy" and report.details["queue"]["limit"] == tc.runtime.settings.max_queued_jobs
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
    monkeypatch.setattr(tc.runtime.settings, "llm_base_url", dead)
    degraded = HealthService(tc.runtime, lambda: dict(queues)).report()
    assert degraded.status == "degraded" and degraded.can_take_work
    assert degraded.details["llm"]["status"] == "unhealthy" and "error" in degraded.details["llm"]
    monkeypatch.undo()
    kb_id = kb()
    blocker = tc.blocker(kb_id, seconds=1.0)
    waiting = tc.create("noop", kb_id, {})
    monkeypatch.setattr(tc.runtime.settings, "max_queued_jobs", 1)
    full = health.report()
    assert full.status == "unhealthy" and not full.can_take_work
    assert full.details["queue"]["status"] == "unhealthy" and "full" in full.details["queue"]["error"]
    monkeypatch.undo()
    for view in (blocker, waiting):
        tc.wait(view.job.id)


def test_queue_full_refuses_and_a_batch_is_all_or_nothing(tc: TaskCore, monkeypatch: pytest.MonkeyPatch) -> None:
    kb_id = kb()
    blocker = tc.blocker(kb_id, seconds=1.0)
    monkeypatch.setattr(tc.runtime.settings, "max_queued_jobs", 2)
    first = tc.create("noop", kb_id, {})
    with pytest.raises(errors.ValidationFailed) as invalid:
        tc.tasks.create_batch([NewTask("noop", kb_id, {}), NewTask("noop", kb_id, {}, priority="asap")])
    assert invalid.value.details["index"] == 1 and invalid.value.details["field"] == "[1].priority"
    with pytest.raises(errors.QueueFull):
        tc.tasks.create_batch([NewTask("noop", kb_id, {}), NewTask("noop", kb_id, {})])
    second = tc.create("noop", kb_id, {})
    with pytest.raises(errors.QueueFull):
        tc.create("noop", kb_id, {})
    assert tc.tasks.list(kb_id=kb_id)[1] == 3  # the blocker and the two accepted
    monkeypatch.undo()
    batch = tc.tasks.create_batch([NewTask("noop", kb_id, {"i": i}) for i in range(3)])
    assert len(batch) == 3 and all(v.job.status == JobStatus.QUEUED for v in batch)
    for view in [blocker, first, second, *batch]:
        assert tc.wait(view.job.id).job.status == JobStatus.SUCCEEDED


def test_a_batch_fans_out_into_child_tasks_and_waits_for_them(tc: TaskCore) -> None:
    kb_id = kb()
    folder = tc.uploads / kb_id
    folder.mkdir()
    for i in range(3):
        (folder / f"doc{i}.txt").write_text(f"Document number {i}. " * 30)
    (folder / "notes.bin").write_bytes(b"ignored: not a document type")
    parent = tc.create("batch_processing", kb_id, {"folder": str(folder), "chunk_size": 100, "chunk_overlap": 10})
    done = tc.wait(parent.job.id, timeout=90).job
    assert done.status == JobStatus.SUCCEEDED, done.error
    children = done.stages[0].outputs["children"]
    assert len(children) == 3 and done.progress == 100
    for child_id in children:
        child = tc.tasks.get(child_id).job
        assert child.status == JobStatus.SUCCEEDED and child.options["parent_id"] == parent.job.id
        assert child.input["payload"]["chunk_size"] == 100 and child.priority == done.priority
    assert tc.knowledge.get(kb_id).documents == 3
    make_pdf(folder / "locked.pdf", [["secret"]], password="pw")
    second = tc.wait(tc.create("batch_processing", kb_id, {"folder": str(folder)}).job.id, timeout=90).job
    assert second.status == JobStatus.FAILED and second.error is not None
    assert second.error.code == "CHILD_TASKS_FAILED" and "locked.pdf" in second.error.message


def test_a_file_gone_by_run_time_fails_once_without_retries(tc: TaskCore) -> None:
    kb_id = kb()
    path = tc.uploads / f"{kb_id}.md"
    path.write_text("# Title\n\nbody")
    view = tc.create("document_processing", kb_id, {"file_path": str(path)},
                     schedule_for=utcnow() + timedelta(seconds=1.5))
    path.unlink()
    failed = tc.wait(view.job.id).job
    assert failed.status == JobStatus.FAILED and failed.error is not None
    assert failed.error.code == "FILE_NOT_FOUND" and failed.stages[0].attempts == 1
    assert failed.started_at is not None and view.job.schedule_for is not None
    assert failed.started_at >= view.job.schedule_for - timedelta(milliseconds=50)


def test_statistics_are_real_figures(tc: TaskCore) -> None:
    kb_id = kb()
    ids = [tc.create("noop", kb_id, {}).job.id for _ in range(2)]
    ids.append(tc.create("health_check", kb_id, {"url": f"{tc.target}/fail"}, max_retries=0).job.id)
    for task_id in ids:
        tc.wait(task_id)
    counts = tc.tasks.stats.task_counts(kb_id)
    assert counts.total == 3 and counts.by_status == {"SUCCEEDED": 2, "FAILED": 1}
    assert counts.by_pipeline == {"task.noop": 2, "task.health_check": 1}
    assert counts.mean_duration_s is not None and counts.mean_duration_s >= 0
    system = tc.tasks.stats.system()
    me = next(r for r in system.workers if r.state.id == tc.engine.executor_id)
    assert me.active and me.figures.processed >= 3 and me.figures.failed >= 1
    assert system.processing_rate > 0
    tc.blocker(kb_id, seconds=1.0)
    waiting = tc.create("noop", kb_id, {}, priority="low")
    assert tc.tasks.stats.queue_size("task.noop", "low") >= 1
    assert tc.tasks.stats.queue_size("task.noop", "critical") == 0
    snapshot = tc.tasks.stats.metrics()
    assert snapshot.queued_by_priority.get("low", 0) >= 1
    assert snapshot.durations["task.noop"].count >= 2
    tc.wait(waiting.job.id)


def test_indexing_a_corpus_ranks_the_relevant_chunk_first(tc: TaskCore) -> None:
    kb_id = kb()
    corpus = {
        "cats.txt": "Cats are small carnivorous mammals kept as pets. A cat purrs when it is content.",
        "databases.txt": "PostgreSQL is a relational database. It stores rows in tables and answers SQL queries.",
        "weather.txt": "A storm brings heavy rain and strong wind. Forecasts warn about flooding in the valley.",
        "cooking.txt": "Knead the dough, let it rise for an hour, then bake the bread in a hot oven.",
        "space.txt": "The rocket reached orbit and the astronauts docked with the space station.",
    }
    folder = tc.uploads / kb_id
    folder.mkdir()
    for name, text in corpus.items():
        (folder / name).write_text(text)
    batch = tc.wait(tc.create("batch_processing", kb_id, {"folder": str(folder)}).job.id, timeout=90).job
    assert batch.status == JobStatus.SUCCEEDED, batch.error
    indexed = tc.wait(tc.create("knowledge_indexing", kb_id, {}).job.id, timeout=120).job
    assert indexed.status == JobStatus.SUCCEEDED, indexed.error
    assert [s.name for s in indexed.stages] == ["embed", "store"]
    assert indexed.stages[1].outputs["vectors"] == 5
    queries = {"a feline pet that purrs": "cats.txt", "which SQL database should store my tables": "databases.txt",
               "will it rain tomorrow": "weather.txt", "how to bake bread": "cooking.txt",
               "astronauts in orbit": "space.txt"}
    for query, expected in queries.items():
        hits = tc.knowledge.search(kb_id, query, top_k=3).hits
        assert Path(hits[0].source).name == expected, (query, [(Path(h.source).name, h.score) for h in hits])
        assert hits[0].score > hits[1].score


def test_one_document_of_ten_topics_is_indexed_and_each_question_finds_its_paragraph(tc: TaskCore) -> None:
    kb_id = kb()
    path = tc.uploads / f"{kb_id}.md"
    shutil.copy(DATA / "ten-topics.md", path)  # ten paragraphs of ~150 characters on unrelated subjects
    indexed = tc.wait(tc.create("knowledge_indexing", kb_id, {"file_path": str(path), "chunk_size": 200,
                                                               "chunk_overlap": 0}).job.id, timeout=120).job
    assert indexed.status == JobStatus.SUCCEEDED, indexed.error
    assert indexed.stages[0].outputs["chunks"] == 10 and indexed.stages[2].outputs["vectors"] == 10
    # questions that share almost no words with their paragraph: the ranking is by meaning
    questions = {"how do insects keep a hive going": "honeybee colony", "training for a long race": "Marathon",
                 "a peace agreement that ended a war in the 1600s": "Westphalia",
                 "my tap drips, how do I fix it": "leaking faucet", "how do plants make food from light":
                 "Photosynthesis", "home loan rates": "mortgage", "bread made with natural yeast": "Sourdough",
                 "what happens when a huge star dies": "Black holes", "memory management in a programming language":
                 "garbage collector", "improvised music with saxophones": "Jazz"}
    for question, words in questions.items():
        hits = tc.knowledge.search(kb_id, question, top_k=2).hits
        assert words in hits[0].text, (question, [h.text[:60] for h in hits])
        assert hits[0].score > hits[1].score + 0.1


def test_vector_storage_takes_vectors_a_client_computed(tc: TaskCore) -> None:
    from montage.generators.builtin.kb.embedder import LOCAL_MODEL, embedder_for

    kb_id = kb()
    texts = ["The violin and the cello are string instruments.", "Invoices are due within thirty days."]
    vectors = embedder_for(None, None, LOCAL_MODEL).embed(texts)
    items = [{"id": f"v{i}", "text": t, "vector": v.tolist()}
             for i, (t, v) in enumerate(zip(texts, vectors, strict=True))]
    stored = tc.wait(tc.create("vector_storage", kb_id, {"vectors": items, "model": LOCAL_MODEL}).job.id).job
    assert stored.status == JobStatus.SUCCEEDED and stored.stages[0].outputs["stored"] == 2
    hits = tc.knowledge.search(kb_id, "music played on a cello").hits
    assert hits[0].text == texts[0]
    wrong = tc.wait(tc.create("vector_storage", kb_id, {"vectors": [{"text": "x", "vector": [1.0, 0.0]}],
                                                       "model": LOCAL_MODEL}).job.id).job
    assert wrong.status == JobStatus.FAILED and wrong.error is not None
    assert wrong.error.code == "DIMENSION_MISMATCH" and wrong.stages[0].attempts == 1
    empty = tc.wait(tc.create("embedding_generation", kb(), {}).job.id).job
    assert empty.status == JobStatus.FAILED and empty.error is not None and empty.error.code == "KB_EMPTY"


def test_canceling_a_batch_cancels_its_children_still_waiting(tc: TaskCore) -> None:
    kb_id = kb()
    folder = tc.uploads / kb_id
    folder.mkdir()
    for i in range(2):
        (folder / f"d{i}.txt").write_text("text " * 50)
    blocker = tc.blocker(kb_id, seconds=2.0)  # holds the default queue's only slot: children wait
    parent = tc.create("batch_processing", kb_id, {"folder": str(folder)})
    running = wait_for(lambda: (v := tc.tasks.get(parent.job.id)) and v.job.status == JobStatus.RUNNING
                       and len(tc.tasks.list(kb_id=kb_id)[0]) == 4 and v, what="parent fanned out")
    assert running.job.queue == "tasks-batch"  # its own queue: a waiting parent holds no child's slot
    tc.tasks.cancel(parent.job.id)
    children = [v for v in tc.tasks.list(kb_id=kb_id)[0] if v.job.options.get("parent_id") == parent.job.id]
    assert len(children) == 2
    for child in children:
        assert tc.wait(child.job.id).job.status == JobStatus.CANCELED
    tc.wait(blocker.job.id)
