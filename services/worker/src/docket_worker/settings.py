"""The worker's settings: the common ones plus its health port, queue tuning and sandbox limits."""

from __future__ import annotations

import re

from docket_core.settings import CommonSettings, SettingsError
from docket_worker.processing.ocr import OcrOptions, library_found

# The child's interpreter with pypdf imported maps about 45 MB before it reads a file; below this a
# 20 MB upload (MAX_UPLOAD_BYTES) could not even be read and decoded.
MIN_EXTRACT_MEMORY_MB = 128
OCR_LANGUAGES = re.compile(r"[a-z_]{3,16}(\+[a-z_]{3,16}){0,7}")
MIN_OCR_DPI, MAX_OCR_DPI = 72, 600
OCR_BUDGET_SHARE = 0.8
# a PostgreSQL text-search configuration's name, optionally schema-qualified (english, public.docs)
TEXT_CONFIG_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?")


class WorkerSettings(CommonSettings, kw_only=True, frozen=True):
    """Every environment variable the worker reads (see docs/configuration.md)."""

    port: int = 9000
    database_listen_url: str = ""
    worker_concurrency: int = 8
    worker_poll_interval_seconds: float = 2.0
    worker_lease_seconds: float = 30.0
    worker_extract_timeout_seconds: float = 60.0
    worker_extract_memory_mb: int = 1024
    worker_extract_cpu_seconds: float = 0.0  # 0: the same as worker_extract_timeout_seconds
    worker_job_hold_seconds: float = 0.0
    audit_retention_days: int = 365
    ocr_enabled: bool | None = None  # unset: on when libtesseract is installed
    ocr_languages: str = "eng"
    ocr_max_pages: int = 50
    ocr_dpi: int = 300
    ocr_page_timeout_seconds: float = 30.0
    search_text_config: str = "english"

    def ocr_options(self) -> OcrOptions | None:
        """The OCR a child may do, or None when OCR is off (or not installed and not asked for)."""
        enabled = library_found() if self.ocr_enabled is None else self.ocr_enabled
        if not enabled:
            return None
        return OcrOptions(
            languages=self.ocr_languages,
            max_pages=self.ocr_max_pages,
            dpi=self.ocr_dpi,
            page_timeout_seconds=self.ocr_page_timeout_seconds,
            # leave the child a fifth of its wall clock to finish the page in hand and report
            budget_seconds=self.worker_extract_timeout_seconds * OCR_BUDGET_SHARE,
        )

    @property
    def extract_cpu_seconds(self) -> float:
        """The CPU time one extraction child may use (RLIMIT_CPU)."""
        return self.worker_extract_cpu_seconds or self.worker_extract_timeout_seconds

    @property
    def listen_url(self) -> str:
        """Where the queue's LISTEN connects: never through a transaction pooler, which cannot hold it."""
        return self.database_listen_url or self.database_url

    def check(self) -> None:
        super().check()
        if self.database_pooler == "transaction" and not self.database_listen_url:
            raise SettingsError(
                "DATABASE_LISTEN_URL is required when DATABASE_POOLER=transaction: LISTEN needs a session "
                "of its own, so point it at the primary directly (CloudNativePG: the -rw Service)"
            )
        if self.worker_concurrency < 1:
            raise SettingsError("WORKER_CONCURRENCY must be at least 1")
        if self.worker_extract_timeout_seconds <= 0:
            raise SettingsError("WORKER_EXTRACT_TIMEOUT_SECONDS must be positive")
        if self.worker_extract_cpu_seconds < 0:
            raise SettingsError("WORKER_EXTRACT_CPU_SECONDS must be 0 (the timeout) or positive")
        if self.worker_extract_memory_mb < MIN_EXTRACT_MEMORY_MB:
            raise SettingsError(
                f"WORKER_EXTRACT_MEMORY_MB must be at least {MIN_EXTRACT_MEMORY_MB}: "
                "the child's interpreter and parser need it before the file does"
            )
        if self.audit_retention_days < 0:
            raise SettingsError("AUDIT_RETENTION_DAYS must be 0 (keep forever) or more")
        if self.worker_lease_seconds < 1:
            raise SettingsError("WORKER_LEASE_SECONDS must be at least 1")
        if not OCR_LANGUAGES.fullmatch(self.ocr_languages):
            raise SettingsError("OCR_LANGUAGES must be Tesseract language codes joined by '+', like eng+deu")
        if self.ocr_max_pages < 1:
            raise SettingsError("OCR_MAX_PAGES must be at least 1 (OCR_ENABLED=false turns OCR off)")
        if not MIN_OCR_DPI <= self.ocr_dpi <= MAX_OCR_DPI:
            raise SettingsError(f"OCR_DPI must be between {MIN_OCR_DPI} and {MAX_OCR_DPI}")
        if self.ocr_page_timeout_seconds <= 0:
            raise SettingsError("OCR_PAGE_TIMEOUT_SECONDS must be positive")
        if not TEXT_CONFIG_NAME.fullmatch(self.search_text_config):
            raise SettingsError(
                "SEARCH_TEXT_CONFIG must name a PostgreSQL text-search configuration, like english or simple"
            )
        if self.worker_job_hold_seconds and self.is_production:
            raise SettingsError("WORKER_JOB_HOLD_SECONDS is a testing aid and must be 0 in production")
