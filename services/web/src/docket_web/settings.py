"""The web service's settings: the common ones plus where the API is, sessions, CSRF and uploads."""

from __future__ import annotations

from typing import ClassVar

from docket_core.contracts import (
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_UPLOAD_GRACE_SECONDS,
    DEFAULT_UPLOAD_MAX_SECONDS,
    DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND,
    DEFAULT_UPLOAD_SPOOL_MEMORY_BYTES,
)
from docket_core.http.management import check_management_port
from docket_core.settings import CommonSettings, SettingsError, require_secret

# In ENVIRONMENT=local and test the web signs CSRF tokens with this key so `make dev` needs no set-up.
# It is public, so every other environment refuses to start without its own CSRF_SECRET (as the API
# does without JWT_SECRET).
DEV_CSRF_SECRET = "docket-web-local-development-csrf-key-do-not-use"  # noqa: S105  # refused outside local/test


class WebSettings(CommonSettings, kw_only=True, frozen=True):
    """Every environment variable the web service reads (see docs/configuration.md)."""

    uses_database: ClassVar[bool] = False
    port: int = 8080
    management_port: int = 8081
    api_url: str = "http://127.0.0.1:8000"
    api_timeout_seconds: float = 10.0
    api_max_connections: int = 100
    trusted_proxies: tuple[str, ...] = ()
    csrf_secret: str = ""
    session_ttl_seconds: int = 14 * 24 * 3600
    session_max_age_seconds: int = 30 * 24 * 3600
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    upload_max_files: int = 10
    # the most of one uploaded file the web holds in memory, ahead of the API; it never writes to disk
    upload_spool_memory_bytes: int = DEFAULT_UPLOAD_SPOOL_MEMORY_BYTES
    # every request body must arrive at this rate once the grace period is over, and in full within
    # UPLOAD_MAX_SECONDS; the API applies the same deadline to the body the web streams on
    upload_min_bytes_per_second: int = DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND
    upload_grace_seconds: float = DEFAULT_UPLOAD_GRACE_SECONDS
    upload_max_seconds: float = DEFAULT_UPLOAD_MAX_SECONDS

    @property
    def csrf_signing_secret(self) -> str:
        return self.csrf_secret or (DEV_CSRF_SECRET if self.is_development else "")

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` (and the ``__Host-`` prefix) everywhere but on a developer's machine."""
        return self.environment not in ("local", "test")

    def check(self) -> None:
        super().check()
        check_management_port(self.port, self.management_port)
        if not self.api_url.startswith(("http://", "https://")):
            raise SettingsError("API_URL must be an http:// or https:// URL")
        if not self.is_development:
            require_secret("CSRF_SECRET", self.csrf_secret, self.environment, DEV_CSRF_SECRET)
        if self.api_timeout_seconds <= 0 or self.api_max_connections < 1:
            raise SettingsError("API_TIMEOUT_SECONDS and API_MAX_CONNECTIONS must be positive")
        if self.session_ttl_seconds < 60:
            raise SettingsError("SESSION_TTL_SECONDS must be at least 60")
        if self.max_upload_bytes < 1 or self.upload_max_files < 1:
            raise SettingsError("MAX_UPLOAD_BYTES and UPLOAD_MAX_FILES must be positive")
        if self.session_max_age_seconds < 1:
            raise SettingsError("SESSION_MAX_AGE_SECONDS must be positive")
        if self.upload_spool_memory_bytes < 0:
            raise SettingsError("UPLOAD_SPOOL_MEMORY_BYTES must be 0 or more")
        if self.upload_min_bytes_per_second < 1:
            raise SettingsError("UPLOAD_MIN_BYTES_PER_SECOND must be at least 1")
        if self.upload_grace_seconds < 0 or self.upload_max_seconds <= 0:
            raise SettingsError("UPLOAD_GRACE_SECONDS must be 0 or more and UPLOAD_MAX_SECONDS positive")
