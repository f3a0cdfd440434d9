"""Knowledge bases: what the KB task types store (through ``ctx.service("knowledge")``) and the
search over a knowledge base's vector index.

Search embeds the query with the knowledge base's model and ranks every vector of its index by
cosine similarity with numpy (vectors are stored normalised). A process keeps each knowledge
base's matrix in memory until the knowledge base changes (its version moves).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from montage.domain.knowledge import (
    ChunkText,
    DocumentText,
    ExternalVector,
    KnowledgeBase,
    KnowledgeDocument,
    PendingChunk,
    SearchHit,
)
from montage.errors import NotFound, ValidationFailed
from montage.generators.builtin.kb.embedder import LOCAL_MODEL, Embedder, embedder_for
from montage.services.runtime import Runtime
from montage.store import knowledge as kb_repo


class KnowledgeBaseNotFound(NotFound):
    """Knowledge base not found"""

    code = "KB_NOT_FOUND"


@dataclass(frozen=True)
class SearchResult:
    kb_id: str
    query: str
    model: str
    hits: list[SearchHit]
    took_ms: float


@dataclass(frozen=True)
class _Index:
    version: int
    ids: list[str]
    matrix: np.ndarray


class KnowledgeService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.settings = runtime.settings
        self._indexes: dict[str, _Index] = {}
        self._lock = threading.Lock()

    # -- what the task types write ----------------------------------------------------
    def replace_document(self, kb_id: str, doc: DocumentText, chunks: Sequence[ChunkText],
                         job_id: str | None) -> KnowledgeDocument:
        with self.db.transaction() as s:
            return kb_repo.replace_document(s, kb_id, doc, chunks, job_id)

    def pending_chunks(self, kb_id: str, model: str, limit: int) -> list[PendingChunk]:
        with self.db.read() as s:
            return kb_repo.chunks_missing_embeddings(s, kb_id, model, limit)

    def save_embeddings(self, kb_id: str, model: str, ids: Sequence[str], vectors: np.ndarray) -> int:
        matrix = np.asarray(vectors, dtype=np.float32)
        items = [(cid, matrix[i].tobytes()) for i, cid in enumerate(ids)]
        with self.db.transaction() as s:
            return kb_repo.save_embeddings(s, kb_id, model, int(matrix.shape[1]), items)

    def index_embeddings(self, kb_id: str) -> int:
        with self.db.transaction() as s:
            return kb_repo.index_embeddings(s, kb_id)

    def store_vectors(self, kb_id: str, source: str, model: str, vectors: Sequence[ExternalVector],
                      job_id: str | None) -> int:
        dimensions = len(vectors[0].vector)
        current = self.summary(kb_id)
        if current is not None and current.vectors and current.model == model and current.dimensions != dimensions:
            raise ValidationFailed(f"knowledge base {kb_id} holds {current.dimensions}-dimensional {model} "
                                   f"vectors, not {dimensions}", field="payload.vectors")
        items = [(v.id, v.text, np.asarray(v.vector, dtype=np.float32).tobytes()) for v in vectors]
        with self.db.transaction() as s:
            return kb_repo.store_external(s, kb_id, f"external:{source}", model, dimensions, items, job_id)

    def summary(self, kb_id: str) -> KnowledgeBase | None:
        with self.db.read() as s:
            return kb_repo.load_kb(s, kb_id)

    # -- reads for clients ------------------------------------------------------------
    def get(self, kb_id: str) -> KnowledgeBase:
        kb = self.summary(kb_id)
        if kb is None:
            raise KnowledgeBaseNotFound(f"knowledge base {kb_id} does not exist", kb_id=kb_id)
        return kb

    def search(self, kb_id: str, query: str, top_k: int = 5) -> SearchResult:
        """The ``top_k`` chunks of the index closest to ``query``, best first."""
        started = time.perf_counter()
        if not query.strip():
            raise ValidationFailed("q must not be empty", field="q")
        with self.db.read() as s:
            state = kb_repo.kb_version(s, kb_id)
        if state is None:
            raise KnowledgeBaseNotFound(f"knowledge base {kb_id} does not exist", kb_id=kb_id)
        version, model = state
        index = self._index(kb_id, version, model)
        if model is None or not index.ids:
            return SearchResult(kb_id, query, model or "", [], _ms(started))
        query_vector = self._embedder(model).embed([query])[0]
        scores = index.matrix @ query_vector
        best = np.argsort(-scores)[:top_k]
        with self.db.read() as s:
            details = kb_repo.chunk_details(s, [index.ids[i] for i in best])
        hits = [SearchHit(chunk_id=index.ids[i], document_id=details[index.ids[i]][0],
                          source=details[index.ids[i]][1], position=details[index.ids[i]][2],
                          text=details[index.ids[i]][3], score=round(float(scores[i]), 6))
                for i in best if index.ids[i] in details]
        return SearchResult(kb_id, query, model, hits, _ms(started))

    def _index(self, kb_id: str, version: int, model: str | None) -> _Index:
        with self._lock:
            cached = self._indexes.get(kb_id)
        if cached is not None and cached.version == version:
            return cached
        with self.db.read() as s:
            rows = kb_repo.index_vectors(s, kb_id, model) if model else []
        ids = [r[0] for r in rows]
        matrix = (np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
                  if rows else np.zeros((0, 0), dtype=np.float32))
        index = _Index(version, ids, matrix)
        with self._lock:
            self._indexes[kb_id] = index
        return index

    def _embedder(self, model: str) -> Embedder:
        """The embedder for queries to an index built with ``model``."""
        if model == self.settings.embedding_model:
            key = self.settings.embedding_api_key
            return embedder_for(self.settings.embedding_base_url, key.get_secret_value() if key else None, model)
        if model == LOCAL_MODEL:
            return embedder_for(None, None, model)
        raise ValidationFailed(f"the knowledge base's vectors come from model {model!r}, which this server "
                               f"does not embed queries with (it uses {self.settings.embedding_model!r}); "
                               "index it again with knowledge_indexing", field="q", code="MODEL_MISMATCH")


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
