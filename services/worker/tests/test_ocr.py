"""OCR of scans and images with Tesseract, in the same sandboxed child (and limits) the worker uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from samples import text_pdf
from scan_samples import image_only_pdf, long_scan_pdf, png_scan

from docket_worker.processing.extract import Extracted, ExtractionError
from docket_worker.processing.ocr import OcrOptions, library_found
from docket_worker.processing.sandbox import Sandbox, SandboxLimits
from docket_worker.settings import WorkerSettings

pytestmark = pytest.mark.skipif(
    not library_found(), reason="libtesseract is not installed (apt-get install tesseract-ocr)"
)
MEMORY = 512 * 1024 * 1024  # the chart's WORKER_EXTRACT_MEMORY_MB
DEFAULTS = OcrOptions()


def _run(tmp_path: Path, data: bytes, content_type: str, ocr: OcrOptions | None = DEFAULTS) -> Extracted:
    path = tmp_path / "file"
    path.write_bytes(data)
    limits = SandboxLimits(wall_seconds=60, cpu_seconds=60, memory_bytes=MEMORY, ocr=ocr)

    async def extract_in_a_child() -> Extracted:
        async with Sandbox() as sandbox:
            return await sandbox.extract(path, content_type, limits)

    return asyncio.run(extract_in_a_child())


def test_a_png_of_text_is_read_by_ocr(tmp_path: Path) -> None:
    result = _run(tmp_path, png_scan(["Inventory of the lighthouse", "seven brass telescopes"]), "image/png")
    assert "lighthouse" in result.text
    assert "telescopes" in result.text
    assert result.ocr_pages == 1
    assert result.notice is None


def test_an_image_only_pdf_is_read_page_by_page(tmp_path: Path) -> None:
    scan = image_only_pdf([["Minutes of the harbour board"], ["The ferry timetable changes"]])
    result = _run(tmp_path, scan, "application/pdf")
    assert "harbour" in result.text
    assert "timetable" in result.text
    assert result.page_count == 2
    assert result.ocr_pages == 2


def test_a_digital_pdf_is_never_rendered_for_ocr(tmp_path: Path) -> None:
    result = _run(tmp_path, text_pdf("A digital page with a real text layer about otters"), "application/pdf")
    assert "otters" in result.text
    assert result.ocr_pages == 0


def test_a_long_scan_stops_at_max_pages_and_says_so(tmp_path: Path) -> None:
    result = _run(tmp_path, long_scan_pdf(200), "application/pdf", OcrOptions(max_pages=3))
    assert result.ocr_pages == 3
    assert result.page_count == 200
    assert result.notice is not None
    assert "first 3 of 200 scanned pages" in result.notice
    assert "OCR_MAX_PAGES" in result.notice


def test_ocr_stops_starting_pages_when_its_time_budget_is_spent(tmp_path: Path) -> None:
    result = _run(tmp_path, long_scan_pdf(20), "application/pdf", OcrOptions(budget_seconds=0.000001))
    assert result.ocr_pages == 1, "the first page always starts; no page after the budget"
    assert result.notice is not None
    assert "stopped for time" in result.notice


def test_with_ocr_off_an_image_fails_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="OCR is off"):
        _run(tmp_path, png_scan(["unread words"]), "image/png", ocr=None)


def test_with_ocr_off_a_scanned_pdf_fails_saying_ocr_is_off(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="OCR is off"):
        _run(tmp_path, image_only_pdf([["unread words"]]), "application/pdf", ocr=None)


def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    from office_samples import png

    with pytest.raises(ExtractionError, match="pixels"):
        _run(tmp_path, png(50_000, 50_000, rows=64), "image/png")


def test_a_damaged_image_fails_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="damaged"):
        _run(tmp_path, png_scan(["cut"])[:200], "image/png")


def test_missing_language_data_fails_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="language data"):
        _run(tmp_path, png_scan(["words"]), "image/png", OcrOptions(languages="xyz"))


def test_ocr_settings_default_on_when_tesseract_is_installed_and_can_be_turned_off() -> None:
    base = {"database_url": "postgresql://x/y", "redis_url": "redis://x"}
    assert WorkerSettings(**base).ocr_options() == OcrOptions(budget_seconds=48.0)  # type: ignore[arg-type]
    assert WorkerSettings(**base, ocr_enabled=False).ocr_options() is None  # type: ignore[arg-type]
