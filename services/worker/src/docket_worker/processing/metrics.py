"""Prometheus metrics of the extraction sandbox."""

from __future__ import annotations

from prometheus_client import Counter

# ok: text extracted; refused: the parser gave a reason (encrypted, not UTF-8, no text); the rest are limits
# the child hit (timeout = wall clock, cpu = RLIMIT_CPU, memory = RLIMIT_AS or the kernel's OOM killer,
# files = RLIMIT_NOFILE, disk = RLIMIT_FSIZE, output = a report over the size bound) or a crash.
OUTCOMES = ("ok", "refused", "timeout", "cpu", "memory", "files", "disk", "output", "crash")
SANDBOX_OUTCOMES = Counter(
    "docket_sandbox_outcomes_total", "Extraction children by how they ended", ["outcome"]
)
# pages of scanned PDFs and image frames read by Tesseract; a PDF with a text layer adds nothing
OCR_PAGES = Counter("docket_ocr_pages_total", "Pages (of scanned PDFs and images) read by OCR")
for _outcome in OUTCOMES:
    SANDBOX_OUTCOMES.labels(_outcome)  # every outcome is exported from the start, at 0
