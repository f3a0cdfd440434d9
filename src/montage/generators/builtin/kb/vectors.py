"""embedding_generation and vector_storage: embed a knowledge base's chunks, and put vectors
into its searchable index."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from montage.domain.knowledge import ExternalVector
from montage.errors import GeneratorError
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.kb.embedder import Embedder, embedder_for, normalise_rows
from montage.generators.builtin.kb.ports import knowledge
from montage.generators.registry import register


class _Empty(GeneratorConfig):
    pass


def ctx_embedder(ctx: StageContext) -> Embedder:
    return embedder_for(ctx.setting("embedding_base_url"), ctx.setting("embedding_api_key"),
                        ctx.setting("embedding_model", "all-MiniLM-L6-v2"))


def _empty_kb(kb_id: str, what: str) -> GeneratorError:
    return GeneratorError(f"knowledge base {kb_id} has no {what}; run document_processing first",
                          code="KB_EMPTY", retryable=False, kb_id=kb_id)


@register
class EmbeddingGeneration:
    """Embed every chunk of the knowledge base that has no embedding from the current model."""

    name: ClassVar[str] = "kb.embedding_generation"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        kb_id = ctx.input["kb_id"]
        batch = int(ctx.input["payload"].get("batch_size", 64))
        store = knowledge(ctx)
        summary = store.summary(kb_id)
        if summary is None or summary.chunks == 0:
            raise _empty_kb(kb_id, "chunks")
        embedder = ctx_embedder(ctx)
        ctx.progress(1, f"loading {embedder.model}")
        total, done, dimensions = summary.chunks, 0, summary.dimensions
        while True:
            ctx.check_cancelled()
            pending = store.pending_chunks(kb_id, embedder.model, batch)
            if not pending:
                break
            vectors = embedder.embed([c.text for c in pending])
            dimensions = int(vectors.shape[1])
            done += store.save_embeddings(kb_id, embedder.model, [c.id for c in pending], vectors)
            ctx.progress(min(99.0, 100.0 * done / max(1, total)), f"embedded {done} chunks")
        ctx.progress(100, f"embedded {done} chunks")
        after = store.summary(kb_id)  # chunks may have arrived meanwhile
        return {"kb_id": kb_id, "model": embedder.model, "dimensions": dimensions, "embedded": done,
                "chunks": after.chunks if after else total}


@register
class VectorStorage:
    """Store vectors in the knowledge base's index: the payload's own, or the KB's embeddings."""

    name: ClassVar[str] = "kb.vector_storage"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        kb_id, payload = ctx.input["kb_id"], ctx.input["payload"]
        store = knowledge(ctx)
        if payload.get("vectors"):
            stored = self._store_external(ctx, kb_id, payload)
        else:
            summary = store.summary(kb_id)
            if summary is None or summary.embedded == 0:
                raise _empty_kb(kb_id, "chunks") if summary is None or summary.chunks == 0 else GeneratorError(
                    f"knowledge base {kb_id} has no embeddings yet; run embedding_generation first",
                    code="KB_NOT_EMBEDDED", retryable=False, kb_id=kb_id)
            stored = store.index_embeddings(kb_id)
        after = store.summary(kb_id)
        ctx.progress(100, f"{stored} vectors stored")
        return {"kb_id": kb_id, "stored": stored, "vectors": after.vectors if after else stored,
                "model": after.model if after else None, "dimensions": after.dimensions if after else None}

    @staticmethod
    def _store_external(ctx: StageContext, kb_id: str, payload: dict[str, Any]) -> int:
        items = payload["vectors"]
        model, dimensions = payload.get("model", "external"), len(items[0]["vector"])
        current = knowledge(ctx).summary(kb_id)
        if current is not None and current.vectors and current.model == model and current.dimensions != dimensions:
            raise GeneratorError(f"knowledge base {kb_id} holds {current.dimensions}-dimensional {model} vectors, "
                                 f"not {dimensions}", code="DIMENSION_MISMATCH", retryable=False)
        matrix = normalise_rows(np.array([item["vector"] for item in items], dtype=np.float32))
        vectors = [ExternalVector(id=item.get("id") or str(i), text=item["text"], vector=tuple(row.tolist()))
                   for i, (item, row) in enumerate(zip(items, matrix, strict=True))]
        return knowledge(ctx).store_vectors(kb_id, payload.get("source", "external"), model, vectors, ctx.job_id)
