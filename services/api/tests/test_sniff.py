"""The type of a file from its first 8 KB: office containers by their entries, text in any encoding."""

from __future__ import annotations

import io
import zipfile

import pytest
from office_samples import docx_file, odp_file, ods_file, odt_file, pptx_file, xlsx_file
from samples import text_pdf

from docket_api.domain.documents.sniff import SNIFF_BYTES, UnsupportedTypeError, detect
from docket_core.contracts.formats import (
    CSV,
    DOCX,
    HTML,
    JPEG,
    JSON,
    ODP,
    ODS,
    ODT,
    PDF,
    PNG,
    PPTX,
    TEXT,
    TIFF,
    XLSX,
)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: docx_file("a", "b", "c"), DOCX),
        (lambda: xlsx_file("a", "b"), XLSX),
        (lambda: pptx_file("a", "b"), PPTX),
        (lambda: odt_file("a", "b", "c"), ODT),
        (lambda: ods_file("a", "b"), ODS),
        (lambda: odp_file("a", "b"), ODP),
    ],
)
def test_office_files_are_told_apart_by_their_container_entries_whatever_the_name(
    make: object, expected: str
) -> None:
    data = make()  # type: ignore[operator]
    assert detect(data[:SNIFF_BYTES], "upload.bin") == expected


class _Unseekable(io.RawIOBase):
    """A write-only stream: zipfile then puts each entry's sizes after its data (a data descriptor)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        chunk = bytes(b)  # type: ignore[call-overload]
        self.data += chunk
        return len(chunk)


def test_a_streamed_container_whose_sizes_follow_the_data_is_still_recognised() -> None:
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("docProps/app.xml", b"<Properties>" + b"x" * 3000 + b"</Properties>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
    assert bytes(stream.data)[6] & 0x08, "the test needs a data descriptor"
    assert detect(bytes(stream.data)[:SNIFF_BYTES], "book") == XLSX


@pytest.mark.parametrize(
    "entries",
    [
        {"photo.jpg": b"\xff\xd8\xff"},  # a plain ZIP
        {"mimetype": b"application/epub+zip", "content.opf": b"<x/>"},  # another ZIP-based type
        {"word/other.xml": b"<x/>"},  # looks Office-ish, has no main part
    ],
)
def test_other_zip_archives_are_refused(entries: dict[str, bytes]) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(UnsupportedTypeError, match="ZIP archive"):
        detect(out.getvalue()[:SNIFF_BYTES], "archive.docx")


def test_a_truncated_zip_head_is_refused_not_crashed() -> None:
    with pytest.raises(UnsupportedTypeError):
        detect(b"PK\x03\x04\x14\x00\x00\x00", "x.docx")


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        ("Le café est fermé à l'été.\n".encode("latin-1"), "notes.txt", TEXT),
        ("Smart “quotes”, a € sign, naïve café.\n".encode("cp1252"), "notes.txt", TEXT),
        ("\ufeffUn café crème, s'il vous plaît.\n".encode("utf-16-le"), "notes.txt", TEXT),
        ("\ufeffGrüße aus München\n".encode("utf-16-be"), "notes.txt", TEXT),
        ("\ufeff<html><body>Crème brûlée</body></html>".encode("utf-16-le"), "page", HTML),
        ('{"ville": "Zürich"}'.encode("latin-1"), "data.json", JSON),
        ("nom;ville\nRené;Besançon\n".encode("latin-1"), "rows.csv", CSV),
        (text_pdf("x"), "x.txt", PDF),
    ],
)
def test_text_in_any_encoding_is_text(data: bytes, name: str, expected: str) -> None:
    assert detect(data, name) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", JPEG),
        (b"II*\x00\x08\x00\x00\x00", TIFF),
        (b"MM\x00*\x00\x00\x00\x08", TIFF),
    ],
)
def test_png_jpeg_and_tiff_are_images_for_ocr(head: bytes, expected: str) -> None:
    assert detect(head + bytes(range(256)) * 4, "scan.txt") == expected


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(range(256)) * 10,
        bytes(range(256)) * 32,
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200,
    ],
)
def test_bytes_that_decode_as_no_text_are_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedTypeError, match="binary"):
        detect(data, "file.txt")
