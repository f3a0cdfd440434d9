"""Text extraction from txt, md, html, pdf and docx; clear errors for what cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from montage.generators.builtin.kb.extract import DocumentError, check_path, decode_text, extract, probe
from tests.support.documents import make_docx, make_pdf

DATA = Path(__file__).resolve().parents[2] / "data" / "kb"


def test_text_files_in_utf8_with_bom_and_gb18030(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes("\ufeffHello, 世界".encode())
    assert extract(tmp_path / "a.txt").text == "Hello, 世界"
    assert decode_text("任务管理服务".encode("gb18030")) == "任务管理服务"
    assert decode_text("Größe".encode("utf-16")) == "Größe"


def test_markdown_keeps_the_words_and_drops_the_markup(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Release notes\n\nThe **queue** is *fast*.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    doc = extract(path)
    assert doc.title == "Release notes" and doc.mime == "text/markdown"
    assert "The queue is fast." in doc.text and "**" not in doc.text
    assert "one" in doc.text and "1 | 2" in doc.text


def test_html_drops_scripts_and_styles_and_keeps_blocks_apart(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<html><head><title>Docs</title><style>p{color:red}</style></head><body>"
                    "<h1>Intro</h1><p>Hello <b>bold</b> world.</p><script>alert(1)</script>"
                    "<ul><li>first</li><li>second</li></ul></body></html>")
    doc = extract(path)
    assert doc.title == "Docs"
    assert "Hello bold world." in doc.text and "alert" not in doc.text and "color" not in doc.text
    assert doc.text.index("Intro") < doc.text.index("Hello") < doc.text.index("first")
    assert "first\n" in doc.text


def test_pdf_text_by_page(tmp_path: Path) -> None:
    doc = extract(make_pdf(tmp_path / "r.pdf", [["Quarterly revenue grew."], ["Costs (mostly cloud) fell."]]))
    assert doc.pages == 2 and doc.mime == "application/pdf"
    assert "Quarterly revenue grew." in doc.text and "Costs (mostly cloud) fell." in doc.text


def test_a_pdf_printed_by_a_browser(tmp_path: Path) -> None:
    """A real-world PDF (Chromium's print to PDF: subset TrueType fonts with ToUnicode maps)."""
    doc = extract(DATA / "report-chromium.pdf")
    assert doc.pages == 1 and doc.title == "Quarterly report"
    words = " ".join(doc.text.split())
    for sentence in ("Quarterly report 2025",
                     "migrated the billing database from MySQL to PostgreSQL without downtime.",
                     "Exchange-rate swings remain the largest risk to next year's margin."):
        assert sentence in words


def test_encrypted_pdf_is_refused_clearly_but_an_empty_user_password_is_read(tmp_path: Path) -> None:
    locked = make_pdf(tmp_path / "locked.pdf", [["secret plans"]], password="s3cret")
    with pytest.raises(DocumentError) as info:
        probe(locked)
    assert info.value.code == "PDF_ENCRYPTED" and "password" in info.value.message
    assert info.value.retryable is False
    with pytest.raises(DocumentError):
        extract(locked)
    open_pdf = make_pdf(tmp_path / "owner-only.pdf", [["readable text"]], password="")
    probe(open_pdf)
    assert "readable text" in extract(open_pdf).text


def test_damaged_pdf_and_docx_are_unreadable(tmp_path: Path) -> None:
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    (tmp_path / "bad.docx").write_bytes(b"PK\x03\x04 not a zip at all")
    for name in ("bad.pdf", "bad.docx"):
        with pytest.raises(DocumentError) as info:
            probe(tmp_path / name)
        assert info.value.code == "DOCUMENT_UNREADABLE"


def test_docx_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    doc = extract(make_docx(tmp_path / "r.docx", ["Summary first.", "Then details."], [["k", "v"], ["x", "1"]]))
    assert doc.title == "Quarterly report"
    assert doc.text.index("Summary first.") < doc.text.index("Then details.") < doc.text.index("x | 1")


def test_paths_must_be_absolute_inside_a_root_supported_and_small_enough(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    root.mkdir()
    (root / "ok.txt").write_text("hi")
    (root / "data.bin").write_bytes(b"\x00")
    (tmp_path / "outside.txt").write_text("no")
    (root / "link.txt").symlink_to(tmp_path / "outside.txt")
    assert check_path(str(root / "ok.txt"), [root], 100) == (root / "ok.txt").resolve()
    cases = {"relative.txt": "PATH_NOT_ABSOLUTE", str(tmp_path / "outside.txt"): "PATH_NOT_ALLOWED",
             str(root / ".." / "outside.txt"): "PATH_NOT_ALLOWED", str(root / "link.txt"): "PATH_NOT_ALLOWED",
             str(root / "data.bin"): "UNSUPPORTED_FILE_TYPE", str(root / "missing.pdf"): "FILE_NOT_FOUND",
             str(root): "NOT_A_FILE"}
    for raw, code in cases.items():
        with pytest.raises(DocumentError) as info:
            check_path(raw, [root], 100)
        assert info.value.code == code, raw
    with pytest.raises(DocumentError) as big:
        check_path(str(root / "ok.txt"), [root], 1)
    assert big.value.code == "FILE_TOO_LARGE"
