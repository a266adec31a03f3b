"""The worker's settings: the common ones plus its health port and queue tuning."""

from __future__ import annotations

from docket_core.settings import CommonSettings, SettingsError


class WorkerSettings(CommonSettings, kw_only=True, frozen=True):
    """Every environment variable the worker reads (see docs/configuration.md)."""

    port: int = 9000
    database_listen_url: str = ""
    worker_concurrency: int = 8
    worker_poll_interval_seconds: float = 2.0
    worker_lease_seconds: float = 30.0
    worker_extract_timeout_seconds: float = 60.0
    worker_extract_memory_mb: int = 1024
    worker_job_hold_seconds: float = 0.0

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
        if self.worker_lease_seconds < 1:
            raise SettingsError("WORKER_LEASE_SECONDS must be at least 1")
        if self.worker_job_hold_seconds and self.is_production:
            raise SettingsError("WORKER_JOB_HOLD_SECONDS is a testing aid and must be 0 in production")
