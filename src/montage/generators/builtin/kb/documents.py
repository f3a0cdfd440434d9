"""document_processing: a file's text, split into chunks stored under the task's kb_id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.kb.chunking import split_text
from montage.generators.builtin.kb.extract import DocumentError, check_path, extract
from montage.generators.builtin.kb.ports import knowledge
from montage.generators.registry import register


class _Empty(GeneratorConfig):
    pass


def allowed_roots(ctx: StageContext) -> list[Path]:
    return [Path(p) for p in ctx.setting("upload_roots", [])]


@register
class DocumentProcessing:
    """Extract the text of ``payload.file_path`` (txt, md, html, pdf, docx) and store its chunks."""

    name: ClassVar[str] = "kb.document_processing"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        kb_id, payload = ctx.input["kb_id"], ctx.input["payload"]
        size, overlap = int(payload.get("chunk_size", 1000)), int(payload.get("chunk_overlap", 200))
        path = check_path(payload["file_path"], allowed_roots(ctx), int(ctx.setting("max_document_bytes", 1 << 30)))
        ctx.progress(5, f"reading {path.name}")
        doc = extract(path, ctx.check_cancelled)
        ctx.check_cancelled()
        ctx.progress(60, f"splitting {len(doc.text)} characters")
        chunks = split_text(doc.text, size, overlap)
        if not chunks:
            hint = " (a scanned PDF needs OCR first)" if path.suffix.lower() == ".pdf" else ""
            raise DocumentError(f"{path.name} has no text to extract{hint}",
                                code="DOCUMENT_EMPTY", file_path=str(path))
        with ctx.path(f"{ctx.stage}/chunks.jsonl").open("w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(json.dumps({"position": chunk.position, "start": chunk.start, "end": chunk.end,
                                     "text": chunk.text}, ensure_ascii=False) + "\n")
        ctx.add_artifact(f"{ctx.stage}/chunks.jsonl", role="chunks", mime="application/x-ndjson")
        stored = knowledge(ctx).replace_document(kb_id, doc, chunks, ctx.job_id)
        ctx.progress(100, f"{len(chunks)} chunks stored")
        return {"kb_id": kb_id, "document_id": stored.id, "file_path": payload["file_path"], "title": doc.title,
                "mime": doc.mime, "pages": doc.pages, "characters": len(doc.text), "chunks": len(chunks),
                "chunk_size": size, "chunk_overlap": overlap}
