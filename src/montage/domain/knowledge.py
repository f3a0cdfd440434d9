"""Knowledge bases: documents split into chunks, chunk embeddings, and what a search finds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ChunkText:
    """One piece of a document's text, with where it sits in the extracted text."""

    position: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class DocumentText:
    """What extraction made of a file."""

    source: str
    title: str
    mime: str
    text: str
    bytes: int
    sha256: str
    pages: int | None = None


@dataclass(frozen=True)
class KnowledgeDocument:
    id: str
    kb_id: str
    source: str
    title: str
    mime: str
    bytes: int
    sha256: str
    characters: int
    chunk_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PendingChunk:
    """A chunk that still needs an embedding."""

    id: str
    text: str


@dataclass(frozen=True)
class ExternalVector:
    """A vector a client computed elsewhere, with the text it stands for."""

    id: str
    text: str
    vector: tuple[float, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    kb_id: str
    model: str | None
    dimensions: int | None
    documents: int
    chunks: int
    embedded: int
    vectors: int
    version: int
    updated_at: datetime | None


@dataclass(frozen=True)
class SearchHit:
    chunk_id: str
    document_id: str
    source: str
    position: int
    text: str
    score: float
