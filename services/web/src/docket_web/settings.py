"""The web service's settings: the common ones plus where the API is, sessions, CSRF and uploads."""

from __future__ import annotations

from typing import ClassVar

from docket_core.contracts import DEFAULT_MAX_UPLOAD_BYTES
from docket_core.settings import MIN_SECRET_BYTES, CommonSettings, SettingsError

# Outside production the web signs CSRF tokens with this key so `make dev` needs no set-up; production
# refuses it, like the API refuses its development JWT key.
DEV_CSRF_SECRET = "docket-web-local-development-csrf-key-do-not-use"  # noqa: S105  # refused in production


class WebSettings(CommonSettings, kw_only=True, frozen=True):
    """Every environment variable the web service reads (see docs/configuration.md)."""

    uses_database: ClassVar[bool] = False
    port: int = 8080
    api_url: str = "http://127.0.0.1:8000"
    api_timeout_seconds: float = 10.0
    api_max_connections: int = 100
    trusted_proxies: tuple[str, ...] = ()
    csrf_secret: str = ""
    session_ttl_seconds: int = 14 * 24 * 3600
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    upload_max_files: int = 10

    @property
    def csrf_signing_secret(self) -> str:
        return self.csrf_secret or ("" if self.is_production else DEV_CSRF_SECRET)

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` (and the ``__Host-`` prefix) everywhere but on a developer's machine."""
        return self.environment not in ("local", "test")

    def check(self) -> None:
        super().check()
        if not self.api_url.startswith(("http://", "https://")):
            raise SettingsError("API_URL must be an http:// or https:// URL")
        if self.is_production:
            if not self.csrf_secret:
                raise SettingsError("CSRF_SECRET is required when ENVIRONMENT=production")
            if len(self.csrf_secret.encode()) < MIN_SECRET_BYTES or self.csrf_secret == DEV_CSRF_SECRET:
                raise SettingsError(
                    f"CSRF_SECRET must be a random value of at least {MIN_SECRET_BYTES} bytes"
                )
        if self.api_timeout_seconds <= 0 or self.api_max_connections < 1:
            raise SettingsError("API_TIMEOUT_SECONDS and API_MAX_CONNECTIONS must be positive")
        if self.session_ttl_seconds < 60:
            raise SettingsError("SESSION_TTL_SECONDS must be at least 60")
        if self.max_upload_bytes < 1 or self.upload_max_files < 1:
            raise SettingsError("MAX_UPLOAD_BYTES and UPLOAD_MAX_FILES must be positive")
