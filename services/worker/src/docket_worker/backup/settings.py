"""Settings of the backup commands: the worker's, plus where backups go and how long they stay."""

from __future__ import annotations

from urllib.parse import urlsplit

from docket_core.settings import SettingsError
from docket_worker.settings import WorkerSettings


class BackupSettings(WorkerSettings, kw_only=True, frozen=True):
    """Every environment variable `docket-worker backup …` and `restore` read (see docs/configuration.md)."""

    backup_dir: str = ""
    backup_s3_url: str = ""
    backup_s3_endpoint: str = ""
    backup_s3_region: str = ""
    backup_s3_credentials_dir: str = ""
    aws_access_key_id: str = ""
    aws_secret_access_key: str = ""
    backup_retention_days: int = 30
    backup_keep_min: int = 7
    backup_lock_wait_seconds: float = 0.0
    backup_progress_interval_seconds: float = 30.0
    pg_dump: str = ""
    pg_restore: str = ""
    pushgateway_url: str = ""

    def check(self) -> None:
        super().check()
        if self.backup_retention_days < 1:
            raise SettingsError("BACKUP_RETENTION_DAYS must be at least 1")
        if self.backup_keep_min < 1:
            raise SettingsError(
                "BACKUP_KEEP_MIN must be at least 1, so the last good backup is never deleted"
            )
        if self.backup_lock_wait_seconds < 0:
            raise SettingsError("BACKUP_LOCK_WAIT_SECONDS must not be negative")
        if self.backup_progress_interval_seconds <= 0:
            raise SettingsError("BACKUP_PROGRESS_INTERVAL_SECONDS must be positive")
        if self.backup_s3_url:
            _ = self.s3_location  # raises on a malformed URL
            if not self.backup_s3_credentials_dir and not (
                self.aws_access_key_id and self.aws_secret_access_key
            ):
                raise SettingsError(
                    "BACKUP_S3_URL needs credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    "or BACKUP_S3_CREDENTIALS_DIR"
                )

    @property
    def s3_location(self) -> tuple[str, str]:
        """The bucket and key prefix (without slashes at either end) of ``BACKUP_S3_URL``."""
        parts = urlsplit(self.backup_s3_url)
        if parts.scheme != "s3" or not parts.netloc:
            raise SettingsError(
                f"BACKUP_S3_URL must look like s3://bucket/prefix, not {self.backup_s3_url!r}"
            )
        return parts.netloc, parts.path.strip("/")
