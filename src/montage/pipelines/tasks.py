"""The task-manager facade's task types, one pipeline each (``task.<task_type>``).

Each takes ``{kb_id, payload}``; the payload models are in ``generators.builtin.kb.payloads``.
knowledge_indexing runs the whole way: chunk a file (when given one), embed, store vectors.
Batch parents run on their own queue, so a parent waiting for its children never holds the
slot a child needs.
"""

from __future__ import annotations

from typing import Any

from montage.domain.pipelines import PipelineSpec, RetryPolicy, StageSpec
from montage.generators.builtin.kb.payloads import task_input_model
from montage.pipelines import register_pipeline

FACADE = "tasks"
BATCH_QUEUE = "tasks-batch"
#: The contract's task types, in its order, then montage's own (``noop``, for benchmarks).
TASK_TYPES = ("document_processing", "batch_processing", "knowledge_indexing", "embedding_generation",
              "vector_storage", "health_check", "noop")
_RETRY = RetryPolicy(max_attempts=4, backoff_s=1.0)

_STAGES: dict[str, tuple[StageSpec, ...]] = {
    "document_processing": (StageSpec("process", "kb.document_processing", retry=_RETRY),),
    "batch_processing": (StageSpec("fan_out", "kb.batch_processing", retry=_RETRY),),
    "knowledge_indexing": (StageSpec("process", "kb.document_processing", retry=_RETRY),
                           StageSpec("embed", "kb.embedding_generation", retry=_RETRY),
                           StageSpec("store", "kb.vector_storage", retry=_RETRY)),
    "embedding_generation": (StageSpec("embed", "kb.embedding_generation", retry=_RETRY),),
    "vector_storage": (StageSpec("store", "kb.vector_storage", retry=_RETRY),),
    "health_check": (StageSpec("check", "kb.health_check", retry=_RETRY),),
    "noop": (StageSpec("noop", "demo.noop", retry=_RETRY),),
}
_DESCRIPTIONS = {
    "document_processing": "Extract a file's text (txt, md, html, pdf, docx) and store it in chunks.",
    "batch_processing": "One child task per file of a folder or list; ends when they have.",
    "knowledge_indexing": "Chunk a file (optional), embed the knowledge base's chunks and index the vectors.",
    "embedding_generation": "Embed the knowledge base's chunks that have no embedding yet.",
    "vector_storage": "Store vectors (given, or the knowledge base's embeddings) in its search index.",
    "health_check": "Check that a URL answers, and record status and latency.",
    "noop": "Does nothing (montage's own type, for benchmarks and smoke tests).",
}


def pipeline_name(task_type: str) -> str:
    return f"task.{task_type}"


def task_type_of(pipeline: str) -> str:
    return pipeline.removeprefix("task.")


def _indexing_stages(job_input: dict[str, Any]) -> list[str]:
    wanted = ["embed", "store"]
    return (["process", *wanted]) if job_input.get("payload", {}).get("file_path") else wanted


for _type in TASK_TYPES:
    register_pipeline(PipelineSpec(
        name=pipeline_name(_type), version="1", description=_DESCRIPTIONS[_type], stages=_STAGES[_type],
        input_model=task_input_model(_type), facade=FACADE,
        queue=BATCH_QUEUE if _type == "batch_processing" else "default",
        select_stages=_indexing_stages if _type == "knowledge_indexing" else None,
    ))
