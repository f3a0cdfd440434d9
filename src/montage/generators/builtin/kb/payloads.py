"""What each task type accepts as ``payload`` (validated before a task is created)."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from montage import outbound
from montage.errors import UrlRefused

DOCUMENT_TASK_TYPES = ("document_processing", "knowledge_indexing")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChunkingOptions(_Payload):
    chunk_size: int = Field(1000, ge=50, le=100_000, description="Largest chunk, in characters.")
    chunk_overlap: int = Field(200, ge=0, le=50_000, description="Characters two neighbouring chunks share.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingOptions:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size "
                             f"({self.chunk_size})")
        return self


class DocumentPayload(ChunkingOptions):
    file_path: str = Field(min_length=1, max_length=4096, description="A txt, md, html, pdf or docx file.")


class EmbeddingPayload(_Payload):
    batch_size: int = Field(64, ge=1, le=1024, description="Chunks embedded per call of the model.")


class VectorItem(_Payload):
    id: str | None = Field(None, max_length=200)
    text: str = Field(min_length=1, max_length=100_000)
    vector: list[float] = Field(min_length=1, max_length=8192)


class VectorPayload(_Payload):
    vectors: list[VectorItem] | None = Field(
        None, max_length=10_000, description="Client-computed vectors; absent: index the KB's own embeddings.")
    model: str = Field("external", min_length=1, max_length=200, description="Model that computed `vectors`.")
    source: str = Field("external", min_length=1, max_length=500, description="Document name for `vectors`.")

    @field_validator("vectors")
    @classmethod
    def _same_dimensions(cls, value: list[VectorItem] | None) -> list[VectorItem] | None:
        if value and len({len(v.vector) for v in value}) > 1:
            raise ValueError("every vector must have the same number of dimensions")
        return value


class IndexingPayload(EmbeddingPayload):
    file_path: str | None = Field(None, min_length=1, max_length=4096,
                                  description="A document to add first; absent: index what the KB holds.")
    chunk_size: int = Field(1000, ge=50, le=100_000)
    chunk_overlap: int = Field(200, ge=0, le=50_000)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> IndexingPayload:
        ChunkingOptions(chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)
        return self


class BatchPayload(ChunkingOptions):
    folder: str | None = Field(None, min_length=1, max_length=4096, description="Process every supported file.")
    files: list[str] | None = Field(None, min_length=1, max_length=1000, description="Or these files.")
    recursive: bool = Field(False, description="Also look in sub-folders of `folder`.")
    task_type: Literal["document_processing", "knowledge_indexing"] = Field(
        "document_processing", description="What each child task does with its file.")

    @model_validator(mode="after")
    def _one_source(self) -> BatchPayload:
        if (self.folder is None) == (self.files is None):
            raise ValueError("give exactly one of folder or files")
        return self


class HealthPayload(_Payload):
    url: str = Field(min_length=8, max_length=4096, pattern=r"^https?://", description="http(s) URL to check.")
    method: Literal["GET", "HEAD"] = "GET"
    timeout: float = Field(10.0, gt=0, le=120, description="Seconds to wait for the answer.")
    expected_status: list[int] | None = Field(None, description="Healthy status codes (default: 200–399).")
    fail_on_unhealthy: bool = Field(True, description="Fail (and retry) the task when the URL is unhealthy.")

    @field_validator("url")
    @classmethod
    def _callable(cls, value: str) -> str:
        """An address montage never calls (a cloud metadata service, link-local…) is refused now,
        not after a task and its retries; a host name is checked when it is called."""
        try:
            return outbound.check_literal(value)
        except UrlRefused as exc:
            raise ValueError(exc.message) from None


class NoopPayload(BaseModel):
    model_config = ConfigDict(extra="allow")


PAYLOADS: dict[str, type[BaseModel]] = {
    "document_processing": DocumentPayload,
    "batch_processing": BatchPayload,
    "knowledge_indexing": IndexingPayload,
    "embedding_generation": EmbeddingPayload,
    "vector_storage": VectorPayload,
    "health_check": HealthPayload,
    "noop": NoopPayload,
}


@cache
def task_input_model(task_type: str) -> type[BaseModel]:
    """The pipeline input of a task type: ``{kb_id, payload}``."""
    fields: dict[str, Any] = {
        "kb_id": (str, Field(min_length=1, max_length=200, description="Knowledge base the task works on.")),
        "payload": (PAYLOADS[task_type], Field(description="What the task works on.")),
    }
    name = "".join(p.title() for p in task_type.split("_")) + "Input"
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
