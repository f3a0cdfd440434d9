"""Knowledge-base rows in, domain objects out: documents, chunks, embeddings, the vector index.

Every write is idempotent, because a stage that writes may run again after a crash: a
document's id is derived from its knowledge base and source, so processing it again
replaces it; embeddings and vectors are keyed by chunk id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from montage.domain.knowledge import ChunkText, DocumentText, KnowledgeBase, KnowledgeDocument, PendingChunk
from montage.store.jobs import utcnow
from montage.store.knowledge_models import (
    KnowledgeBaseRow,
    KnowledgeChunkRow,
    KnowledgeDocumentRow,
    KnowledgeVectorRow,
)


def document_id(kb_id: str, source: str) -> str:
    """The same (knowledge base, source) always names the same document."""
    return "doc_" + hashlib.sha256(f"{kb_id}\x00{source}".encode()).hexdigest()[:32]


def ensure_kb(s: Session, kb_id: str) -> None:
    """Create the knowledge base row if it is missing (safe under concurrent callers)."""
    now = utcnow()
    values = {"kb_id": kb_id, "version": 0, "created_at": now, "updated_at": now}
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    s.execute(insert(KnowledgeBaseRow).values(**values).on_conflict_do_nothing(index_elements=["kb_id"]))


def bump_version(s: Session, kb_id: str, **fields: Any) -> None:
    s.execute(update(KnowledgeBaseRow).where(KnowledgeBaseRow.kb_id == kb_id)
              .values(version=KnowledgeBaseRow.version + 1, updated_at=utcnow(), **fields)
              .execution_options(synchronize_session=False))


def replace_document(s: Session, kb_id: str, doc: DocumentText, chunks: Sequence[ChunkText],
                     job_id: str | None) -> KnowledgeDocument:
    """Store ``doc`` split into ``chunks``, replacing what an earlier run stored for it."""
    ensure_kb(s, kb_id)
    doc_id = document_id(kb_id, doc.source)
    previous = s.get(KnowledgeDocumentRow, doc_id)
    created = previous.created_at if previous is not None else utcnow()
    _delete_document(s, doc_id)
    now = utcnow()
    row = KnowledgeDocumentRow(
        id=doc_id, kb_id=kb_id, source=doc.source, title=doc.title[:500], mime=doc.mime, bytes=doc.bytes,
        sha256=doc.sha256, characters=len(doc.text), chunk_count=len(chunks), job_id=job_id,
        created_at=created, updated_at=now,
    )
    s.add(row)
    s.flush()
    if chunks:
        s.execute(insert(KnowledgeChunkRow), [
            {"id": f"{doc_id}:{c.position}", "kb_id": kb_id, "document_id": doc_id, "position": c.position,
             "text": c.text, "start_char": c.start, "end_char": c.end, "embedding": None,
             "embedding_model": None, "created_at": now}
            for c in chunks
        ])
    bump_version(s, kb_id)
    return document_from_row(row)


def _delete_document(s: Session, doc_id: str) -> None:
    chunk_ids = select(KnowledgeChunkRow.id).where(KnowledgeChunkRow.document_id == doc_id)
    s.execute(delete(KnowledgeVectorRow).where(KnowledgeVectorRow.chunk_id.in_(chunk_ids)))
    s.execute(delete(KnowledgeChunkRow).where(KnowledgeChunkRow.document_id == doc_id))
    s.execute(delete(KnowledgeDocumentRow).where(KnowledgeDocumentRow.id == doc_id))


def document_from_row(row: KnowledgeDocumentRow) -> KnowledgeDocument:
    return KnowledgeDocument(
        id=row.id, kb_id=row.kb_id, source=row.source, title=row.title, mime=row.mime, bytes=row.bytes,
        sha256=row.sha256, characters=row.characters, chunk_count=row.chunk_count, created_at=row.created_at,
        updated_at=row.updated_at,
    )


def chunks_missing_embeddings(s: Session, kb_id: str, model: str, limit: int) -> list[PendingChunk]:
    rows = s.execute(
        select(KnowledgeChunkRow.id, KnowledgeChunkRow.text)
        .where(KnowledgeChunkRow.kb_id == kb_id,
               (KnowledgeChunkRow.embedding_model.is_(None)) | (KnowledgeChunkRow.embedding_model != model))
        .order_by(KnowledgeChunkRow.id).limit(limit)
    ).all()
    return [PendingChunk(id=r[0], text=r[1]) for r in rows]


def save_embeddings(s: Session, kb_id: str, model: str, dimensions: int, items: Sequence[tuple[str, bytes]]) -> int:
    """Set the embedding of each chunk id; records the model on the knowledge base."""
    if not items:
        return 0
    ensure_kb(s, kb_id)
    stmt = (update(KnowledgeChunkRow).where(KnowledgeChunkRow.id == bindparam("cid"))
            .values(embedding=bindparam("emb"), embedding_model=model))
    s.connection().execute(stmt, [{"cid": cid, "emb": blob} for cid, blob in items])
    bump_version(s, kb_id, model=model, dimensions=dimensions)
    return len(items)


def index_embeddings(s: Session, kb_id: str) -> int:
    """Copy the knowledge base's embeddings of its current model into the vector index;
    vectors of another model leave it. Returns how many vectors were added."""
    kb = s.get(KnowledgeBaseRow, kb_id)
    if kb is None or kb.model is None or kb.dimensions is None:
        return 0
    s.execute(delete(KnowledgeVectorRow).where(KnowledgeVectorRow.kb_id == kb_id,
                                               KnowledgeVectorRow.model != kb.model))
    already = exists().where(KnowledgeVectorRow.chunk_id == KnowledgeChunkRow.id)
    rows = s.execute(select(KnowledgeChunkRow.id, KnowledgeChunkRow.embedding).where(
        KnowledgeChunkRow.kb_id == kb_id, KnowledgeChunkRow.embedding_model == kb.model, ~already)).all()
    now = utcnow()
    if rows:
        s.execute(insert(KnowledgeVectorRow), [
            {"chunk_id": cid, "kb_id": kb_id, "model": kb.model, "dimensions": kb.dimensions, "vector": blob,
             "created_at": now} for cid, blob in rows])
        bump_version(s, kb_id)
    return len(rows)


def store_external(s: Session, kb_id: str, source: str, model: str, dimensions: int,
                   items: Sequence[tuple[str, str, bytes]], job_id: str | None) -> int:
    """Store client-computed vectors (id, text, normalised float32 bytes) as one document's
    chunks and index them at once."""
    text = "\n\n".join(t for _, t, _ in items)
    doc = DocumentText(source=source, title=source, mime="application/x-vectors", text=text, bytes=len(text),
                       sha256=hashlib.sha256(text.encode()).hexdigest())
    chunks = [ChunkText(position=i, text=t, start=0, end=len(t)) for i, (_, t, _) in enumerate(items)]
    stored = replace_document(s, kb_id, doc, chunks, job_id)
    now = utcnow()
    s.connection().execute(
        update(KnowledgeChunkRow).where(KnowledgeChunkRow.id == bindparam("cid"))
        .values(embedding=bindparam("emb"), embedding_model=model),
        [{"cid": f"{stored.id}:{i}", "emb": blob} for i, (_, _, blob) in enumerate(items)])
    s.execute(insert(KnowledgeVectorRow), [
        {"chunk_id": f"{stored.id}:{i}", "kb_id": kb_id, "model": model, "dimensions": dimensions, "vector": blob,
         "created_at": now} for i, (_, _, blob) in enumerate(items)])
    bump_version(s, kb_id, model=model, dimensions=dimensions)
    return len(items)


def load_kb(s: Session, kb_id: str) -> KnowledgeBase | None:
    row = s.get(KnowledgeBaseRow, kb_id)
    if row is None:
        return None

    def count(query: Any) -> int:
        return int(s.scalar(query) or 0)

    chunk_q = select(func.count()).select_from(KnowledgeChunkRow).where(KnowledgeChunkRow.kb_id == kb_id)
    return KnowledgeBase(
        kb_id=kb_id, model=row.model, dimensions=row.dimensions, version=row.version, updated_at=row.updated_at,
        documents=count(select(func.count()).select_from(KnowledgeDocumentRow)
                        .where(KnowledgeDocumentRow.kb_id == kb_id)),
        chunks=count(chunk_q),
        # before any embedding the model is NULL, and "== NULL" would count every chunk
        embedded=count(chunk_q.where(KnowledgeChunkRow.embedding_model == row.model)) if row.model else 0,
        vectors=count(select(func.count()).select_from(KnowledgeVectorRow).where(KnowledgeVectorRow.kb_id == kb_id)),
    )


def kb_version(s: Session, kb_id: str) -> tuple[int, str | None] | None:
    row = s.execute(select(KnowledgeBaseRow.version, KnowledgeBaseRow.model)
                    .where(KnowledgeBaseRow.kb_id == kb_id)).first()
    return None if row is None else (int(row[0]), row[1])


def index_vectors(s: Session, kb_id: str, model: str) -> list[tuple[str, bytes]]:
    """Every (chunk id, vector) of the knowledge base's index for ``model``."""
    rows = s.execute(select(KnowledgeVectorRow.chunk_id, KnowledgeVectorRow.vector).where(
        KnowledgeVectorRow.kb_id == kb_id, KnowledgeVectorRow.model == model).order_by(KnowledgeVectorRow.chunk_id))
    return [(r[0], r[1]) for r in rows]


def chunk_details(s: Session, chunk_ids: Sequence[str]) -> dict[str, tuple[str, str, int, str]]:
    """chunk id → (document id, source, position, text)."""
    rows = s.execute(
        select(KnowledgeChunkRow.id, KnowledgeChunkRow.document_id, KnowledgeDocumentRow.source,
               KnowledgeChunkRow.position, KnowledgeChunkRow.text)
        .join(KnowledgeDocumentRow, KnowledgeDocumentRow.id == KnowledgeChunkRow.document_id)
        .where(KnowledgeChunkRow.id.in_(list(chunk_ids)))
    ).all()
    return {r[0]: (r[1], r[2], int(r[3]), r[4]) for r in rows}
