"""Text out of files: txt, md, html, pdf and docx, with clear errors for what cannot be read.

``check_path`` decides whether a path may be read at all (inside an allowed root, an existing
file of a supported type, not too large); ``probe`` opens it far enough to know it is readable
(an encrypted PDF is refused before a task is created); ``extract`` reads its text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from montage.domain.knowledge import DocumentText
from montage.errors import GeneratorError, JobCanceled, JobTimedOut
from montage.generators.builtin.kb.chunking import normalise

MIME = {
    ".txt": "text/plain", ".text": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown",
    ".html": "text/html", ".htm": "text/html", ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
SUPPORTED = tuple(sorted(MIME))

Check = Callable[[], None]


class DocumentError(GeneratorError):
    """The document cannot be read."""

    code = "DOCUMENT_UNREADABLE"

    def __init__(self, message: str, *, code: str, **details: object) -> None:
        super().__init__(message, code=code, retryable=False, **details)


def check_path(raw: str, roots: Sequence[Path], max_bytes: int) -> Path:
    """The resolved file ``raw`` names, if it may be read; else a ``DocumentError``."""
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise DocumentError(f"file_path must be an absolute path: {raw}", code="PATH_NOT_ABSOLUTE", file_path=raw)
    resolved = path.resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        allowed = [str(r) for r in roots]
        raise DocumentError(f"file_path {raw} is outside the allowed folders ({', '.join(allowed)}); "
                            "set MONTAGE_ALLOWED_ROOTS to add one", code="PATH_NOT_ALLOWED", file_path=raw,
                            allowed_roots=allowed)
    if resolved.is_dir():
        raise DocumentError(f"{raw} is a folder, not a file (batch_processing takes a folder)", code="NOT_A_FILE",
                            file_path=raw)
    if resolved.suffix.lower() not in MIME:
        raise DocumentError(f"unsupported file type {resolved.suffix or '(none)'}; supported: "
                            f"{', '.join(SUPPORTED)}", code="UNSUPPORTED_FILE_TYPE", file_path=raw,
                            allowed=list(SUPPORTED))
    if not resolved.is_file():
        raise DocumentError(f"no such file: {raw}", code="FILE_NOT_FOUND", file_path=raw)
    size = resolved.stat().st_size
    if size > max_bytes:
        raise DocumentError(f"{raw} is {size} bytes; the limit is {max_bytes}", code="FILE_TOO_LARGE",
                            file_path=raw, limit=max_bytes)
    return resolved


def probe(path: Path) -> None:
    """Open ``path`` far enough to know its text can be read (PDF: not encrypted)."""
    if path.suffix.lower() == ".pdf":
        _open_pdf(path)
    elif path.suffix.lower() == ".docx":
        _open_docx(path)


def extract(path: Path, check: Check = lambda: None) -> DocumentText:
    """The text of ``path``; ``check`` is called between pages (to honour cancel and timeout)."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    title, text, pages = _READERS[suffix](path, data, check)
    return DocumentText(source=str(path), title=title or path.name, mime=MIME[suffix], text=normalise(text),
                        bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), pages=pages)


def decode_text(data: bytes) -> str:
    """Bytes of a text file as str: UTF-8 (with or without BOM), UTF-16 with a BOM, GB18030, Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _read_txt(path: Path, data: bytes, check: Check) -> tuple[str, str, int | None]:
    return "", decode_text(data), None


def _read_md(path: Path, data: bytes, check: Check) -> tuple[str, str, int | None]:
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(decode_text(data))
    _, text = html_text(html)
    heading = re.search(r"^#\s+(.+)$", decode_text(data), re.MULTILINE)
    return (heading.group(1).strip() if heading else ""), text, None


_BLOCKS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "section",
           "article", "header", "footer", "table", "ul", "ol", "dd", "dt", "hr", "main", "aside", "figure")


def html_text(html: str) -> tuple[str, str]:
    """(title, text) of an HTML document: scripts and styles dropped, blocks on their own lines."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "head", "svg"]):
        tag.decompose()
    for row in soup.find_all("tr"):
        cells = [cell.get_text(" ", strip=True) for cell in row.find_all(["td", "th"])]
        row.replace_with(f"\n\n{' | '.join(cells)}\n\n")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = soup.get_text()
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n"))
    return title, "\n".join(lines)


def _read_html(path: Path, data: bytes, check: Check) -> tuple[str, str, int | None]:
    title, text = html_text(decode_text(data))
    return title, text, None


def _open_pdf(path: Path) -> object:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("a password is needed")
        _ = len(reader.pages)
    except (FileNotDecryptedError, DependencyError) as exc:
        raise DocumentError(f"{path.name} is an encrypted PDF and cannot be read without its password ({exc})",
                            code="PDF_ENCRYPTED", file_path=str(path)) from None
    except (PdfReadError, OSError, ValueError, KeyError) as exc:
        raise DocumentError(f"{path.name} is not a readable PDF: {exc}", code="DOCUMENT_UNREADABLE",
                            file_path=str(path)) from None
    return reader


def _read_pdf(path: Path, data: bytes, check: Check) -> tuple[str, str, int | None]:
    from pypdf import PdfReader

    reader = _open_pdf(path)
    assert isinstance(reader, PdfReader)
    pages: list[str] = []
    try:
        for page in reader.pages:
            check()
            pages.append(page.extract_text() or "")
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except (DocumentError, JobCanceled, JobTimedOut):
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise DocumentError(f"{path.name}: text could not be extracted: {exc}", code="DOCUMENT_UNREADABLE",
                            file_path=str(path)) from None
    return title, "\n\n".join(pages), len(pages)


def _open_docx(path: Path) -> object:
    import docx

    try:
        return docx.Document(str(path))
    except Exception as exc:  # python-docx raises zipfile, KeyError and lxml errors on damaged files
        raise DocumentError(f"{path.name} is not a readable .docx file: {exc}", code="DOCUMENT_UNREADABLE",
                            file_path=str(path)) from None


def _read_docx(path: Path, data: bytes, check: Check) -> tuple[str, str, int | None]:
    from docx.document import Document
    from docx.table import Table

    document = _open_docx(path)
    assert isinstance(document, Document)
    parts: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            parts.extend(" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows)
        elif block.text.strip():
            parts.append(block.text)
    return str(document.core_properties.title or ""), "\n\n".join(parts), None


_READERS: dict[str, Callable[[Path, bytes, Check], tuple[str, str, int | None]]] = {
    ".txt": _read_txt, ".text": _read_txt, ".md": _read_md, ".markdown": _read_md, ".html": _read_html,
    ".htm": _read_html, ".pdf": _read_pdf, ".docx": _read_docx,
}
