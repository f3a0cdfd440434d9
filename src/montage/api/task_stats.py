"""The task-manager API's statistics, queue and knowledge-base routes:
``/api/v1/stats/…``, ``/api/v1/queues/info``, ``/api/v1/kbs/{kb_id}…``."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from montage.api.core import iso
from montage.api.task_deps import task_services
from montage.api.tasks import STATUS, WORDS, choice
from montage.domain.jobs import JobStatus, Priority
from montage.domain.tasks import TaskCounts
from montage.pipelines.tasks import TASK_TYPES, pipeline_name, task_type_of
from montage.services.task_stats import WorkerReport

router = APIRouter(prefix="/api/v1", tags=["task-manager"])


def task_stats_body(counts: TaskCounts) -> dict[str, Any]:
    words: dict[str, int] = defaultdict(int)
    for status, n in counts.by_status.items():
        words[STATUS[JobStatus(status)]] += n
    total = counts.total
    return {
        "total_tasks": total, "queued_tasks": words["queued"], "processing_tasks": words["processing"],
        "completed_tasks": words["completed"], "failed_tasks": words["failed"], "canceled_tasks": words["canceled"],
        "avg_process_time": round(counts.mean_duration_s or 0.0, 3),
        "success_rate": round(100.0 * words["completed"] / total, 1) if total else 0.0,
        "status_breakdown": {w: words[w] for w in WORDS},
        "type_breakdown": {task_type_of(p): n for p, n in sorted(counts.by_pipeline.items())},
    }


def worker_body(report: WorkerReport) -> dict[str, Any]:
    w, f = report.state, report.figures
    return {
        "id": w.id, "status": w.status if report.active else "offline",
        "current_task_id": w.current_job_id if report.active else None, "tasks_processed": f.processed,
        "tasks_succeeded": f.succeeded, "tasks_failed": f.failed, "last_heartbeat": iso(w.last_heartbeat),
        "started_at": iso(w.started_at),
        "average_task_time": round(f.mean_duration_s, 3) if f.mean_duration_s is not None else 0.0,
        "hostname": w.hostname, "pid": w.pid, "role": w.role,
    }


@router.get("/stats/tasks", summary="Task counts, success rate and mean run time (optionally of one kb_id)")
def task_stats(request: Request, kb_id: str | None = None) -> dict[str, Any]:
    kb_id = kb_id or None  # ?kb_id= : every task, and said so
    return {**task_stats_body(task_services(request).stats.task_counts(kb_id)), "kb_id": kb_id}


@router.get("/stats/system", summary="Workers, queue size, processing rate")
def system_stats(request: Request) -> dict[str, Any]:
    stats = task_services(request).stats
    figures = stats.system()
    active = [r for r in figures.workers if r.active]
    return {
        "total_workers": len(figures.workers), "active_workers": len(active),
        "idle_workers": sum(1 for r in active if r.state.status != "busy"),
        "busy_workers": sum(1 for r in active if r.state.status == "busy"),
        "queue_size": figures.queue_size, "processing_rate": figures.processing_rate,
        "workers": [worker_body(r) for r in figures.workers],
        "task_stats": task_stats_body(stats.task_counts()),
    }


@router.get("/queues/info", summary="How many tasks wait (of one type and priority when given)")
def queue_info(request: Request, task_type: str | None = None, priority: str | None = None) -> dict[str, Any]:
    choice(task_type, TASK_TYPES, "task_type")
    choice(priority, tuple(p.value for p in Priority), "priority")
    size = task_services(request).stats.queue_size(pipeline_name(task_type) if task_type else None, priority)
    return {"queue_size": size, "queue_key": f"task_queue:{priority}" if priority else "task_queue",
            "task_type": task_type, "priority": priority}


@router.get("/kbs/{kb_id}", summary="A knowledge base: documents, chunks, embeddings, vectors")
def knowledge_base(kb_id: str, request: Request) -> dict[str, Any]:
    kb = task_services(request).knowledge.get(kb_id)
    return {"kb_id": kb.kb_id, "model": kb.model, "dimensions": kb.dimensions, "documents": kb.documents,
            "chunks": kb.chunks, "embedded_chunks": kb.embedded, "vectors": kb.vectors, "version": kb.version,
            "updated_at": iso(kb.updated_at)}


@router.get("/kbs/{kb_id}/search", summary="Chunks of the knowledge base closest in meaning to q, best first")
def search(kb_id: str, request: Request, q: Annotated[str, Query(min_length=1, max_length=2000)],
           top_k: Annotated[int, Query(ge=1, le=50)] = 5) -> dict[str, Any]:
    found = task_services(request).knowledge.search(kb_id, q, top_k)
    return {"kb_id": found.kb_id, "query": found.query, "model": found.model, "took_ms": found.took_ms,
            "results": [{"rank": i + 1, "score": h.score, "chunk_id": h.chunk_id, "document_id": h.document_id,
                         "source": h.source, "position": h.position, "text": h.text}
                        for i, h in enumerate(found.hits)]}
