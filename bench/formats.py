"""Extraction alone, per format, through the sandbox exactly as the worker runs it (a child forked from
the zygote, under the default limits): documents/s for each format and OCR pages/s at 300 DPI.

The sample files are built by the test suite's builders (tests/support), with the libraries the
worker reads them with.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FILES_PER_FORMAT = 20
OCR_PAGES = 6


def _samples() -> dict[str, tuple[str, Callable[[int], bytes]]]:
    sys.path.insert(0, str(ROOT / "tests" / "support"))
    import office_samples as office
    import samples

    from docket_core.contracts import formats

    body = "The quarterly report of the harbour board covers ferries, tides and budgets. " * 40
    return {
        "text (50 KB)": (formats.TEXT, lambda n: f"{n} {body}".encode() * 16),
        "latin-1 text (50 KB)": (formats.TEXT, lambda n: f"{n} café {body}".encode("latin-1") * 16),
        "pdf (5 pages)": (formats.PDF, lambda n: samples.text_pdf(*[f"{n} {body}"] * 5)),
        "docx": (formats.DOCX, lambda n: office.docx_file(f"{n} {body}", "cell", "header")),
        "xlsx": (formats.XLSX, lambda n: office.xlsx_file(f"first{n}", "second")),
        "pptx": (formats.PPTX, lambda n: office.pptx_file(f"slide{n}", "notes")),
        "odt": (formats.ODT, lambda n: office.odt_file(f"{n} {body}", "cell", "footer")),
        "ods": (formats.ODS, lambda n: office.ods_file(f"first{n}", "second")),
        "odp": (formats.ODP, lambda n: office.odp_file(f"slide{n}", "notes")),
    }


async def _extract_all(files: list[Path], content_type: str, ocr: bool) -> float:
    from docket_worker.processing.sandbox import Sandbox, SandboxLimits
    from docket_worker.settings import WorkerSettings

    settings = WorkerSettings(database_url="postgresql://bench/bench", redis_url="redis://bench")
    limits = SandboxLimits.from_settings(settings)
    if not ocr:
        limits = SandboxLimits(limits.wall_seconds, limits.cpu_seconds, limits.memory_bytes)
    async with Sandbox() as sandbox:
        sandbox.start()
        await sandbox.extract(files[0], content_type, limits)  # the zygote's start-up is not measured
        started = time.monotonic()
        for path in files:
            await sandbox.extract(path, content_type, limits)
        return time.monotonic() - started


def measure() -> dict[str, Any]:
    """``{"docs_per_second": {format: rate}, "ocr_pages_per_second": rate or None}``."""
    from docket_worker.processing.ocr import library_found

    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="docket-bench-formats-") as workdir:
        for name, (content_type, make) in _samples().items():
            files = []
            for n in range(FILES_PER_FORMAT):
                path = Path(workdir) / f"{len(rates)}-{n}"
                path.write_bytes(make(n))
                files.append(path)
            rates[name] = FILES_PER_FORMAT / asyncio.run(_extract_all(files, content_type, ocr=False))
        ocr_rate = None
        if library_found():
            import scan_samples

            from docket_core.contracts.formats import PDF

            path = Path(workdir) / "scan.pdf"
            lines = ["Minutes of the harbour board", "The ferry timetable changes in May"]
            path.write_bytes(scan_samples.image_only_pdf([lines] * OCR_PAGES))
            ocr_rate = OCR_PAGES / asyncio.run(_extract_all([path], PDF, ocr=True))
    return {"docs_per_second": rates, "ocr_pages_per_second": ocr_rate}


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))
