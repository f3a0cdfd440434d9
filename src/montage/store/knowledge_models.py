"""Tables of the knowledge bases the task-manager facade's task types fill (migration 0002).

A knowledge base (``kb_bases``) holds documents (``kb_documents``) split into chunks
(``kb_chunks``, each with its embedding once computed); ``kb_vectors`` is the searchable
index: the normalised vectors of the chunks that were stored into it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from montage.store.models import Base


class KnowledgeBaseRow(Base):
    __tablename__ = "kb_bases"

    kb_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    model: Mapped[str | None] = mapped_column(String(200))
    dimensions: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class KnowledgeDocumentRow(Base):
    __tablename__ = "kb_documents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kb_id: Mapped[str] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(500))
    mime: Mapped[str] = mapped_column(String(100))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    characters: Mapped[int] = mapped_column(Integer)
    chunk_count: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class KnowledgeChunkRow(Base):
    __tablename__ = "kb_chunks"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    kb_id: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[str] = mapped_column(ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_kb_chunks_kb_id_model", "kb_id", "embedding_model"),)


class KnowledgeVectorRow(Base):
    __tablename__ = "kb_vectors"

    chunk_id: Mapped[str] = mapped_column(ForeignKey("kb_chunks.id", ondelete="CASCADE"), primary_key=True)
    kb_id: Mapped[str] = mapped_column(String(200), index=True)
    model: Mapped[str] = mapped_column(String(200))
    dimensions: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
