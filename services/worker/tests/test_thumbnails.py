"""First-page thumbnails, made in the sandboxed child with the text: WebP, at most 320 px wide."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from office_samples import docx_with_thumbnail, png, xlsx_file
from samples import text_pdf
from scan_samples import png_scan

from docket_worker.processing.extract import Extracted
from docket_worker.processing.sandbox import Sandbox, SandboxLimits
from docket_worker.processing.thumbnails import MAX_WIDTH, thumbnail

MEMORY = 512 * 1024 * 1024


def _run(tmp_path: Path, data: bytes, content_type: str) -> Extracted:
    path = tmp_path / "file"
    path.write_bytes(data)
    limits = SandboxLimits(wall_seconds=30, cpu_seconds=30, memory_bytes=MEMORY)  # OCR off: text files only

    async def extract_in_a_child() -> Extracted:
        async with Sandbox() as sandbox:
            return await sandbox.extract(path, content_type, limits)

    return asyncio.run(extract_in_a_child())


def _size(webp: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(webp)) as image:
        assert image.format == "WEBP"
        return image.size


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (text_pdf("A page with a thumbnail"), "application/pdf"),
        (
            docx_with_thumbnail("A Word file with its preview picture"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
    ids=["pdf", "docx"],
)
def test_pdf_and_office_files_with_a_preview_get_a_webp_thumbnail_through_the_sandbox(
    tmp_path: Path, data: bytes, content_type: str
) -> None:
    result = _run(tmp_path, data, content_type)
    assert result.thumbnail is not None
    width, height = _size(result.thumbnail)
    assert width <= MAX_WIDTH
    assert height > 0


def test_a_png_gets_a_thumbnail_at_most_320_wide() -> None:
    webp = thumbnail(png_scan(["scanned words"]), "image/png")
    assert webp is not None
    assert _size(webp)[0] == MAX_WIDTH


def test_text_and_office_files_without_a_preview_have_none(tmp_path: Path) -> None:
    assert _run(tmp_path, b"plain words\n", "text/plain").thumbnail is None
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert thumbnail(xlsx_file("no", "preview"), xlsx) is None, "openpyxl saves no preview picture"


def test_an_image_bomb_or_a_damaged_file_gets_no_thumbnail_and_no_error() -> None:
    assert thumbnail(png(50_000, 50_000, rows=64), "image/png") is None
    assert thumbnail(text_pdf("cut")[:100], "application/pdf") is None
