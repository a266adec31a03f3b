"""The API's settings: the common ones plus auth, CORS, limits, quotas and rate limiting."""

from __future__ import annotations

from docket_core.contracts import (
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_UPLOAD_GRACE_SECONDS,
    DEFAULT_UPLOAD_MAX_SECONDS,
    DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND,
    DEFAULT_UPLOAD_SPOOL_MEMORY_BYTES,
    UploadPace,
)
from docket_core.http.management import check_management_port
from docket_core.settings import (
    MIN_SECRET_BYTES,
    CommonSettings,
    PlanCacheMode,
    SettingsError,
    require_secret,
)

# In ENVIRONMENT=local and test Docket signs with this key so `make dev` needs no set-up. It is public
# (it is in the repository), so every other environment refuses to start without its own JWT_SECRET.
DEV_JWT_SECRET = "docket-local-development-secret-do-not-use"  # noqa: S105  # refused outside local/test
# a request waiting longer than this for a hashing slot is better told to come back
MAX_HASH_WAIT_SECONDS = 60


class ApiSettings(CommonSettings, kw_only=True, frozen=True):
    """Every environment variable the API reads (see docs/configuration.md)."""

    port: int = 8000
    database_read_url: str = ""
    management_port: int = 8001
    jwt_secret: str = ""
    jwt_secret_previous: str = ""
    jwt_issuer: str = "docket"
    jwt_audience: str = "docket-api"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    cors_origins: tuple[str, ...] = ()
    enable_swagger: bool = False
    trusted_proxies: tuple[str, ...] = ()
    rate_limit_enabled: bool = True
    rate_limit_anonymous: int = 100
    rate_limit_user: int = 1000
    rate_limit_window_seconds: int = 900
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    login_ip_max_failures: int = 20
    password_hash_concurrency: int = 0
    password_hash_wait_seconds: float = 5.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    upload_spool_memory_bytes: int = DEFAULT_UPLOAD_SPOOL_MEMORY_BYTES
    upload_spool_max_bytes: int = 128 * 1024 * 1024
    upload_min_bytes_per_second: int = DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND
    upload_grace_seconds: float = DEFAULT_UPLOAD_GRACE_SECONDS
    upload_max_seconds: float = DEFAULT_UPLOAD_MAX_SECONDS
    quota_stored_bytes: int = 1024 * 1024 * 1024
    quota_documents: int = 10_000
    quota_uploads_in_flight: int = 4
    search_timeout_ms: int = 5_000
    # the API's statements plan the same whatever their values (search's statement spent about a
    # third of its PostgreSQL CPU planning): see docs/configuration.md
    db_plan_cache_mode: PlanCacheMode = "force_generic_plan"

    @property
    def signing_secret(self) -> str:
        return self.jwt_secret or (DEV_JWT_SECRET if self.is_development else "")

    @property
    def upload_pace(self) -> UploadPace:
        return UploadPace(
            min_bytes_per_second=self.upload_min_bytes_per_second,
            grace_seconds=self.upload_grace_seconds,
            max_seconds=self.upload_max_seconds,
        )

    @property
    def swagger_enabled(self) -> bool:
        return self.enable_swagger or not self.is_production

    def check(self) -> None:
        super().check()
        check_management_port(self.port, self.management_port)
        if not self.is_development:
            require_secret("JWT_SECRET", self.jwt_secret, self.environment, DEV_JWT_SECRET)
            if self.jwt_secret_previous and len(self.jwt_secret_previous.encode()) < MIN_SECRET_BYTES:
                raise SettingsError(f"JWT_SECRET_PREVIOUS must be at least {MIN_SECRET_BYTES} bytes")
        if self.is_production and any("*" in origin for origin in self.cors_origins):
            raise SettingsError("CORS_ORIGINS must list exact origins in production, not '*'")
        for name in ("login_max_failures", "login_ip_max_failures", "login_lockout_seconds"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name.upper()} must be at least 1")
        if self.password_hash_concurrency < 0:
            raise SettingsError("PASSWORD_HASH_CONCURRENCY must be 0 (sized from memory) or more")
        if not 0 <= self.password_hash_wait_seconds <= MAX_HASH_WAIT_SECONDS:
            raise SettingsError(f"PASSWORD_HASH_WAIT_SECONDS must be between 0 and {MAX_HASH_WAIT_SECONDS}")
        if self.max_body_bytes < 1 or self.max_upload_bytes < 1:
            raise SettingsError("MAX_BODY_BYTES and MAX_UPLOAD_BYTES must be positive")
        self._check_uploads_and_quotas()

    def _check_uploads_and_quotas(self) -> None:
        if problems := self.upload_pace.problems():
            raise SettingsError(problems[0])
        if self.upload_spool_memory_bytes < 0:
            raise SettingsError("UPLOAD_SPOOL_MEMORY_BYTES must be 0 or positive")
        if min(self.quota_stored_bytes, self.quota_documents, self.quota_uploads_in_flight) < 1:
            raise SettingsError(
                "QUOTA_STORED_BYTES, QUOTA_DOCUMENTS and QUOTA_UPLOADS_IN_FLIGHT must be positive"
            )
        # so that one account's uploads can never take the whole spool from everyone else on the pod
        one_account = self.quota_uploads_in_flight * self.max_upload_bytes
        if self.upload_spool_max_bytes <= one_account:
            raise SettingsError(
                f"UPLOAD_SPOOL_MAX_BYTES must be more than QUOTA_UPLOADS_IN_FLIGHT x MAX_UPLOAD_BYTES "
                f"({one_account}), so one account's uploads cannot fill it"
            )
