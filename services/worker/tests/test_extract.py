"""Text extraction on real files, including hostile ones, through the same sandbox the worker uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from samples import encrypted_pdf, flate_bomb_pdf, nested_bomb_pdf, text_pdf, truncated_pdf

from docket_worker.processing.extract import Extracted, ExtractionError, extract
from docket_worker.processing.sandbox import extract_safely

MEMORY = 512 * 1024 * 1024


def _run(tmp_path: Path, data: bytes, content_type: str, timeout: float = 20.0) -> Extracted:
    path = tmp_path / "file"
    path.write_bytes(data)
    return asyncio.run(extract_safely(path, content_type, timeout, MEMORY))


def test_pdf_text_pages_and_metadata_title(tmp_path: Path) -> None:
    result = _run(
        tmp_path, text_pdf("First page aardvark", "Second page", title="Annual Report"), "application/pdf"
    )
    assert "aardvark" in result.text
    assert result.page_count == 2
    assert result.title == "Annual Report"


def test_encrypted_pdf_fails_with_a_reason_a_user_understands(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="encrypted"):
        _run(tmp_path, encrypted_pdf("secret words"), "application/pdf")


def test_truncated_pdf_is_reported_damaged_or_textless(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"damaged|No text"):
        _run(tmp_path, truncated_pdf("cut in the middle"), "application/pdf")


def test_deeply_nested_pdf_fails_without_taking_the_worker_down(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError):
        _run(tmp_path, nested_bomb_pdf(), "application/pdf")


def test_decompression_bomb_is_stopped_by_a_limit(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError):
        _run(tmp_path, flate_bomb_pdf(), "application/pdf")


def test_a_parser_that_runs_too_long_is_killed_at_the_time_limit(tmp_path: Path) -> None:
    big = text_pdf(*[f"page {i} " + "word " * 200 for i in range(400)])
    with pytest.raises(ExtractionError, match="longer than"):
        _run(tmp_path, big, "application/pdf", timeout=0.05)


def test_html_keeps_visible_text_and_drops_scripts_and_styles(tmp_path: Path) -> None:
    markup = (
        b"<!doctype html><html><head><title>The  Title</title><style>p{color:red}</style>"
        b"<script>var leaked = 'scriptword';</script></head><body><h1>Heading</h1>"
        b"<p>Visible &amp; kept</p><noscript>hiddenword</noscript></body></html>"
    )
    result = _run(tmp_path, markup, "text/html")
    assert result.title == "The Title"
    assert "Visible & kept" in result.text
    assert "scriptword" not in result.text
    assert "hiddenword" not in result.text
    assert "color" not in result.text


def test_markdown_title_is_its_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("intro line\n\n## Real Title ##\n\nbody text\n")
    assert extract(path, "text/markdown").title == "Real Title"


def test_binary_bytes_after_a_text_prefix_fail_as_not_text(tmp_path: Path) -> None:
    path = tmp_path / "fake.txt"
    path.write_bytes(b"looks like text " * 1000 + b"\xff\xfe\x00\x01" * 100)
    with pytest.raises(ExtractionError, match=r"UTF-8|binary"):
        extract(path, "text/plain")


def test_whitespace_only_file_has_no_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("   \n\t\n")
    with pytest.raises(ExtractionError, match="No text"):
        extract(path, "text/plain")
