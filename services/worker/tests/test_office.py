"""Office and OpenDocument files, real and hostile, through the same sandbox the worker uses."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from office_samples import (
    billion_laughs_xlsx,
    docx_file,
    huge_image_pptx,
    many_entries_docx,
    odp_file,
    ods_file,
    odt_file,
    pptx_file,
    xlsx_file,
    zip_bomb_docx,
)

from docket_core.contracts.formats import DOCX, ODP, ODS, ODT, PPTX, XLSX
from docket_worker.processing.archive import check_archive
from docket_worker.processing.extract import Extracted, ExtractionError
from docket_worker.processing.sandbox import Sandbox, SandboxLimits

MEMORY = 512 * 1024 * 1024


def _run(tmp_path: Path, data: bytes, content_type: str) -> Extracted:
    path = tmp_path / "file"
    path.write_bytes(data)
    limits = SandboxLimits(wall_seconds=30, cpu_seconds=30, memory_bytes=MEMORY)

    async def extract_in_a_child() -> Extracted:
        async with Sandbox() as sandbox:
            return await sandbox.extract(path, content_type, limits)

    return asyncio.run(extract_in_a_child())


REAL: dict[str, tuple[Callable[[], bytes], str, list[str], int | None]] = {
    "docx": (lambda: docx_file("kestrel body", "tablewren", "headerlark"), DOCX,
             ["kestrel", "tablewren", "headerlark"], 1),
    "xlsx": (lambda: xlsx_file("firstibis", "secondheron"), XLSX, ["firstibis", "secondheron"], 2),
    "pptx": (lambda: pptx_file("slidecrane", "noteplover", "cellstork"), PPTX,
             ["slidecrane", "noteplover", "cellstork"], 2),
    "odt": (lambda: odt_file("odtbody", "odttable", "odtfooter"), ODT,
            ["odtbody", "odttable", "odtfooter"], None),
    "ods": (lambda: ods_file("odsfirst", "odssecond"), ODS, ["odsfirst", "odssecond"], 2),
    "odp": (lambda: odp_file("odpslide", "odpnote"), ODP, ["odpslide", "odpnote"], 2),
}  # fmt: skip


@pytest.mark.parametrize("name", list(REAL))
def test_office_text_from_body_tables_headers_notes_and_every_sheet(tmp_path: Path, name: str) -> None:
    make, content_type, words, count = REAL[name]
    result = _run(tmp_path, make(), content_type)
    for word in words:
        assert word in result.text, f"{name}: {word!r} missing from {result.text!r}"
    assert result.page_count == count
    assert result.title
    assert result.word_count >= len(words)


HOSTILE: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "zip-bomb-docx": (zip_bomb_docx, DOCX, "zip bomb"),
    "billion-laughs-xlsx": (billion_laughs_xlsx, XLSX, "document type"),
    "docx-with-100000-entries": (many_entries_docx, DOCX, "entries"),
    "pptx-with-a-50000x50000-image": (huge_image_pptx, PPTX, "pixels"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_office_files_fail_with_a_reason(tmp_path: Path, name: str) -> None:
    make, content_type, reason = HOSTILE[name]
    with pytest.raises(ExtractionError, match=reason) as caught:
        _run(tmp_path, make(), content_type)
    assert caught.value.outcome == "refused", "refused by a check, not by hitting a limit"


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_an_entry_that_inflates_over_100_times_is_a_bomb_even_when_the_total_is_small() -> None:
    with pytest.raises(ExtractionError, match="zip bomb"):
        check_archive(_zip({"word/document.xml": b"<w/>", "word/fill.xml": b" " * (8 * 1024 * 1024)}))


def test_small_entries_may_compress_well() -> None:
    check_archive(_zip({"word/document.xml": b"<w/>" + b" " * 500_000}))


def test_nested_archives_are_counted_and_too_many_refused() -> None:
    inner = _zip({"a.txt": b"x"})
    check_archive(_zip({f"word/embeddings/e{i}.bin": inner for i in range(16)}))
    with pytest.raises(ExtractionError, match="archives inside"):
        check_archive(_zip({f"word/embeddings/e{i}.bin": inner for i in range(17)}))


@pytest.mark.parametrize(
    "xml",
    [
        b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://example.com/x.dtd"><r/>',
        b'<?xml version="1.0"?><!-- a comment -- first --><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r>&e;</r>',
        b"\xff\xfe" + '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r><r/>'.encode("utf-16-le"),
        b"<?xml version='1.0'?>" + b"<!--" + b"x" * 200_000 + b"--><!DOCTYPE r><r/>",
    ],
)
def test_xml_with_a_dtd_is_refused_wherever_the_prolog_hides_it(xml: bytes) -> None:
    with pytest.raises(ExtractionError, match="document type"):
        check_archive(_zip({"word/document.xml": xml}))


def test_xml_without_a_dtd_passes_even_when_it_mentions_one_in_its_text() -> None:
    check_archive(_zip({"word/document.xml": b'<?xml version="1.0"?><r>&lt;!DOCTYPE x&gt;</r>'}))


def test_a_damaged_container_is_reported_damaged(tmp_path: Path) -> None:
    data = docx_file("cut", "off", "here")
    with pytest.raises(ExtractionError, match="damaged"):
        _run(tmp_path, data[: len(data) // 2], DOCX)


def test_a_container_of_the_wrong_kind_is_reported_not_valid(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="not a valid Word"):
        _run(tmp_path, xlsx_file("a", "b"), DOCX)
