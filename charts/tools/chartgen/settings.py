"""The ``config`` and ``secrets`` keys each chart takes (one per environment variable), with their types."""

from __future__ import annotations

from .schema_types import BOOL, LIST_OR_CSV, NONEMPTY, STRING, Schema, integer, number

COMMON_CONFIG: dict[str, Schema] = {
    "ENVIRONMENT": {"enum": ["local", "test", "staging", "production"]},
    "LOG_LEVEL": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]},
    "RELEASE": STRING,
    "DB_POOL_MIN_SIZE": integer(0),
    "DB_POOL_MAX_SIZE": integer(1),
    "DB_POOL_TIMEOUT": number(0, exclusive=True),
    "DB_STATEMENT_TIMEOUT_MS": integer(0),
    "REDIS_CONNECT_TIMEOUT": number(0, exclusive=True),
    "REDIS_SOCKET_TIMEOUT": number(0, exclusive=True),
    "SENTRY_TRACES_SAMPLE_RATE": number(0, 1),
    "OTEL_EXPORTER_OTLP_ENDPOINT": {"type": "string", "pattern": "^(https?://.+)?$"},
    "SHUTDOWN_GRACE_SECONDS": number(0),
    "HOST": NONEMPTY,
    "PORT": integer(1024, 65535),
    "WORKERS": integer(1),
    "RELOAD": BOOL,
}
CHART_CONFIG: dict[str, dict[str, Schema]] = {
    "api": {
        "JWT_ISSUER": NONEMPTY,
        "JWT_AUDIENCE": NONEMPTY,
        "ACCESS_TOKEN_TTL_SECONDS": integer(1),
        "REFRESH_TOKEN_TTL_SECONDS": integer(1),
        "CORS_ORIGINS": LIST_OR_CSV,
        "ENABLE_SWAGGER": BOOL,
        "TRUSTED_PROXIES": LIST_OR_CSV,
        "RATE_LIMIT_ENABLED": BOOL,
        "RATE_LIMIT_ANONYMOUS": integer(1),
        "RATE_LIMIT_USER": integer(1),
        "RATE_LIMIT_WINDOW_SECONDS": integer(1),
        "LOGIN_MAX_FAILURES": integer(1),
        "LOGIN_LOCKOUT_SECONDS": integer(1),
        "MAX_BODY_BYTES": integer(1),
        "MAX_UPLOAD_BYTES": integer(1),
    },
    "web": {
        "API_URL": {"type": "string", "pattern": "^(https?://.+)?$"},
        "API_TIMEOUT_SECONDS": number(0, exclusive=True),
        "API_MAX_CONNECTIONS": integer(1),
        "TRUSTED_PROXIES": LIST_OR_CSV,
        "SESSION_TTL_SECONDS": integer(60),
        "MAX_UPLOAD_BYTES": integer(1),
        "UPLOAD_MAX_FILES": integer(1),
    },
    "worker": {
        "WORKER_CONCURRENCY": integer(1),
        "WORKER_POLL_INTERVAL_SECONDS": number(0, exclusive=True),
        "WORKER_LEASE_SECONDS": number(1),
        "WORKER_EXTRACT_TIMEOUT_SECONDS": number(0, exclusive=True),
        "WORKER_EXTRACT_MEMORY_MB": integer(1),
        "WORKER_JOB_HOLD_SECONDS": number(0),
    },
}
CHART_SECRETS: dict[str, tuple[str, ...]] = {
    "api": ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "JWT_SECRET_PREVIOUS", "SENTRY_DSN"),
    "web": ("DATABASE_URL", "REDIS_URL", "CSRF_SECRET", "SENTRY_DSN"),
    "worker": ("DATABASE_URL", "REDIS_URL", "SENTRY_DSN"),
}


BACKUP_CONFIG: dict[str, Schema] = {
    "BACKUP_RETENTION_DAYS": integer(1),
    "BACKUP_KEEP_MIN": integer(1),
    "BACKUP_LOCK_WAIT_SECONDS": number(0),
    "BACKUP_PROGRESS_INTERVAL_SECONDS": number(0, exclusive=True),
    "PUSHGATEWAY_URL": {"type": "string", "pattern": "^(https?://.+)?$"},
}
