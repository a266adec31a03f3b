"""Typed settings read from the environment once at start-up.

Every service defines a ``msgspec.Struct`` subclass of :class:`CommonSettings`; field names are the
environment variable names in lower case. The table in ``docs/configuration.md`` documents each one.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar

import msgspec

Environment = Literal["local", "test", "staging", "production"]
# "transaction": DATABASE_URL (and DATABASE_READ_URL) lead to a transaction-mode pooler such as PgBouncer
DatabasePooler = Literal["none", "transaction"]
PlanCacheMode = Literal["auto", "force_generic_plan", "force_custom_plan"]
S = TypeVar("S", bound="CommonSettings")

MIN_SECRET_BYTES = 32
DEVELOPMENT_ENVIRONMENTS = ("local", "test")


class SettingsError(ValueError):
    """Raised when the environment holds a missing, malformed or unsafe setting."""


class CommonSettings(msgspec.Struct, kw_only=True, frozen=True):
    """Settings every Docket service reads."""

    # The web never opens the database, so only the services that do refuse to start without it.
    uses_database: ClassVar[bool] = True
    environment: Environment = "local"
    log_level: str = "INFO"
    release: str = "dev"
    database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    db_pool_min_size: int = 2
    db_pool_max_size: int = 10
    db_pool_timeout: float = 5.0
    db_statement_timeout_ms: int = 30_000
    db_idle_in_transaction_timeout_ms: int = 5_000
    database_pooler: DatabasePooler = "none"
    # PostgreSQL plan_cache_mode for statements psycopg prepares (DATABASE_POOLER=none only)
    db_plan_cache_mode: PlanCacheMode = "auto"
    read_your_writes_seconds: int = 300
    redis_connect_timeout: float = 2.0
    redis_socket_timeout: float = 2.0
    redis_sentinels: tuple[str, ...] = ()
    redis_sentinel_master: str = ""
    sentry_dsn: str = ""
    sentry_traces_sample_rate: float = 0.0
    otel_exporter_otlp_endpoint: str = ""
    # share of traces started here that are kept (a caller's traceparent decides for its requests)
    traces_sample_ratio: float = 0.1
    shutdown_grace_seconds: float = 30.0
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    reload: bool = False

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def is_development(self) -> bool:
        """A developer's machine or the test suite: the only places the published dev keys may sign."""
        return self.environment in DEVELOPMENT_ENVIRONMENTS

    def check(self) -> None:
        """Refuse unsafe production settings; services extend this with their own rules."""
        if self.uses_database and self.is_production and not self.database_url:
            raise SettingsError("DATABASE_URL is required when ENVIRONMENT=production")
        if self.db_pool_min_size < 0 or self.db_pool_max_size < max(1, self.db_pool_min_size):
            raise SettingsError("DB_POOL_MAX_SIZE must be at least 1 and at least DB_POOL_MIN_SIZE")
        if self.db_statement_timeout_ms < 0 or self.db_idle_in_transaction_timeout_ms < 0:
            raise SettingsError(
                "DB_STATEMENT_TIMEOUT_MS and DB_IDLE_IN_TRANSACTION_TIMEOUT_MS must be 0 (off) or positive"
            )
        if self.workers < 1:
            raise SettingsError("WORKERS must be at least 1")
        if not 0.0 <= self.traces_sample_ratio <= 1.0:
            raise SettingsError("TRACES_SAMPLE_RATIO must be between 0 and 1")
        if self.reload and self.is_production:
            raise SettingsError("RELOAD is for the development loop and must be false in production")
        if self.read_your_writes_seconds < 0:
            raise SettingsError("READ_YOUR_WRITES_SECONDS must be 0 (off) or more")
        self._check_sentinels()

    def _check_sentinels(self) -> None:
        for address in self.redis_sentinels:
            try:
                sentinel_address(address)
            except ValueError:
                raise SettingsError(
                    f"REDIS_SENTINELS: {address!r} is not host:port (list them comma-separated)"
                ) from None
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise SettingsError("REDIS_SENTINEL_MASTER is required when REDIS_SENTINELS is set")


def sentinel_address(address: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) of one Sentinel; raises ValueError when it is not one."""
    host, _, port = address.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(address)
    return host, int(port)


def require_secret(variable: str, value: str, environment: str, development_value: str) -> None:
    """Refuse a missing, short or published signing key, naming ``variable`` (outside local and test)."""
    if not value:
        raise SettingsError(
            f"{variable} is required when ENVIRONMENT={environment} "
            f"(the published development key signs only in local and test)"
        )
    if len(value.encode()) < MIN_SECRET_BYTES or value == development_value:
        raise SettingsError(f"{variable} must be a random value of at least {MIN_SECRET_BYTES} bytes")


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin in (tuple, list, frozenset, set)


def load_settings(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Build ``cls`` from environment variables, convert the types, and run its checks."""
    env = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    raw: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        name = field.name.upper()
        if name not in env:
            continue
        value: Any = env[name]
        if _is_sequence(hints[field.name]):
            value = [item.strip() for item in value.split(",") if item.strip()]
        raw[field.name] = value
    try:
        settings = msgspec.convert(raw, type=cls, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_name_the_variable(str(exc))) from None
    settings.check()
    return settings


def _name_the_variable(message: str) -> str:
    # msgspec reports "... - at `$.field_name`"; operators know the variable, not the field.
    if "`$." in message:
        head, _, tail = message.partition("`$.")
        field = tail.split("`", 1)[0].split("[", 1)[0]
        return f"{field.upper()}: {head.rstrip(' -')}"
    return message
