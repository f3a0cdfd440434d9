"""The host services the knowledge-base generators call through ``ctx.service(name)``.

``montage.services.stage_services`` provides them in a worker; a test may hand a
:class:`~montage.generators.standalone.StandaloneContext` its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

import numpy as np

from montage.domain.knowledge import (
    ChunkText,
    DocumentText,
    ExternalVector,
    KnowledgeBase,
    KnowledgeDocument,
    PendingChunk,
)
from montage.generators.base import StageContext

KNOWLEDGE = "knowledge"
TASKS = "tasks"


class KnowledgeStore(Protocol):
    """Documents, chunks, embeddings and the vector index, per knowledge base."""

    def replace_document(self, kb_id: str, doc: DocumentText, chunks: Sequence[ChunkText],
                         job_id: str | None) -> KnowledgeDocument: ...
    def pending_chunks(self, kb_id: str, model: str, limit: int) -> list[PendingChunk]: ...
    def save_embeddings(self, kb_id: str, model: str, ids: Sequence[str], vectors: np.ndarray) -> int: ...
    def index_embeddings(self, kb_id: str) -> int: ...
    def store_vectors(self, kb_id: str, source: str, model: str, vectors: Sequence[ExternalVector],
                      job_id: str | None) -> int: ...
    def summary(self, kb_id: str) -> KnowledgeBase | None: ...


class ChildTasks(Protocol):
    """Tasks a batch task fans out: created once per key, followed until they end."""

    def submit_child(self, parent_id: str, key: str, task_type: str, payload: dict[str, Any]) -> str: ...
    def child_statuses(self, ids: Sequence[str]) -> dict[str, str]: ...
    def retry_children(self, ids: Sequence[str]) -> int: ...
    def cancel_children(self, ids: Sequence[str]) -> int: ...


def knowledge(ctx: StageContext) -> KnowledgeStore:
    return cast(KnowledgeStore, ctx.service(KNOWLEDGE))


def child_tasks(ctx: StageContext) -> ChildTasks:
    return cast(ChildTasks, ctx.service(TASKS))
