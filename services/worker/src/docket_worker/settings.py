"""The worker's settings: the common ones plus its health port and queue tuning."""

from __future__ import annotations

from docket_core.settings import CommonSettings, SettingsError


class WorkerSettings(CommonSettings, kw_only=True, frozen=True):
    """Every environment variable the worker reads (see docs/configuration.md)."""

    port: int = 9000
    worker_concurrency: int = 4
    worker_poll_interval_seconds: float = 2.0

    def check(self) -> None:
        super().check()
        if self.worker_concurrency < 1:
            raise SettingsError("WORKER_CONCURRENCY must be at least 1")
