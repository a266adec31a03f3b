"""The ``config`` and ``secrets`` keys each chart takes (one per environment variable), with their types."""

from __future__ import annotations

from .schema_types import BOOL, LIST_OR_CSV, NONEMPTY, STRING, Schema, integer, nullable, number

# Every chart's pods read these.
COMMON_CONFIG: dict[str, Schema] = {
    "ENVIRONMENT": {"enum": ["local", "test", "staging", "production"]},
    "LOG_LEVEL": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]},
    "RELEASE": STRING,
    "REDIS_CONNECT_TIMEOUT": number(0, exclusive=True),
    "REDIS_SOCKET_TIMEOUT": number(0, exclusive=True),
    "SENTRY_TRACES_SAMPLE_RATE": number(0, 1),
    "OTEL_EXPORTER_OTLP_ENDPOINT": {"type": "string", "pattern": "^(https?://.+)?$"},
    "TRACES_SAMPLE_RATIO": number(0, 1),
    "SHUTDOWN_GRACE_SECONDS": number(0),
    "HOST": NONEMPTY,
    "PORT": integer(1024, 65535),
    "WORKERS": integer(1),
    "RELOAD": BOOL,
    "REDIS_SENTINELS": LIST_OR_CSV,
    "REDIS_SENTINEL_MASTER": STRING,
}
# The pool settings, for the charts whose pods open PostgreSQL connections (api and worker; never web).
DATABASE_CONFIG: dict[str, Schema] = {
    "DB_POOL_MIN_SIZE": integer(0),
    "DB_POOL_MAX_SIZE": integer(1),
    "DB_POOL_TIMEOUT": number(0, exclusive=True),
    "DB_STATEMENT_TIMEOUT_MS": integer(0),
    "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": nullable(integer(0)),
    "DATABASE_POOLER": {"enum": ["none", "transaction"]},
    "DB_PLAN_CACHE_MODE": nullable({"enum": ["auto", "force_generic_plan", "force_custom_plan"]}),
    "READ_YOUR_WRITES_SECONDS": integer(0),
}
# The upload deadlines and spooling, read by api and web alike.
UPLOAD_CONFIG: dict[str, Schema] = {
    "UPLOAD_SPOOL_MEMORY_BYTES": integer(0),
    "UPLOAD_MIN_BYTES_PER_SECOND": nullable(integer(0)),
    "UPLOAD_GRACE_SECONDS": nullable(number(0)),
    "UPLOAD_MAX_SECONDS": nullable(number(0, exclusive=True)),
}
MANAGEMENT_PORT: Schema = integer(1024, 65535)
CHART_CONFIG: dict[str, dict[str, Schema]] = {
    "api": {
        **DATABASE_CONFIG,
        **UPLOAD_CONFIG,
        "MANAGEMENT_PORT": MANAGEMENT_PORT,
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
        "LOGIN_IP_MAX_FAILURES": nullable(integer(1)),
        "PASSWORD_HASH_CONCURRENCY": integer(0),
        "PASSWORD_HASH_WAIT_SECONDS": nullable(number(0)),
        "QUOTA_STORED_BYTES": integer(1),
        "QUOTA_DOCUMENTS": integer(1),
        "QUOTA_UPLOADS_IN_FLIGHT": integer(1),
        "SEARCH_TIMEOUT_MS": integer(0),
        "UPLOAD_SPOOL_MAX_BYTES": integer(1),
        "MAX_BODY_BYTES": integer(1),
        "MAX_UPLOAD_BYTES": integer(1),
    },
    "web": {
        **UPLOAD_CONFIG,
        "MANAGEMENT_PORT": MANAGEMENT_PORT,
        "API_URL": {"type": "string", "pattern": "^(https?://.+)?$"},
        "API_TIMEOUT_SECONDS": number(0, exclusive=True),
        "API_MAX_CONNECTIONS": integer(1),
        "TRUSTED_PROXIES": LIST_OR_CSV,
        "SESSION_TTL_SECONDS": integer(60),
        "SESSION_MAX_AGE_SECONDS": integer(60),
        "MAX_UPLOAD_BYTES": integer(1),
        "UPLOAD_MAX_FILES": integer(1),
    },
    "worker": {
        **DATABASE_CONFIG,
        "WORKER_CONCURRENCY": integer(1),
        "WORKER_POLL_INTERVAL_SECONDS": number(0, exclusive=True),
        "WORKER_LEASE_SECONDS": number(1),
        "WORKER_EXTRACT_TIMEOUT_SECONDS": number(0, exclusive=True),
        "WORKER_EXTRACT_CPU_SECONDS": number(0),
        "WORKER_EXTRACT_MEMORY_MB": integer(128),
        "WORKER_JOB_HOLD_SECONDS": number(0),
        "AUDIT_RETENTION_DAYS": integer(0),
        "OCR_ENABLED": nullable(BOOL),
        "OCR_LANGUAGES": {"type": "string", "pattern": "^[a-z_]{3,16}(\\+[a-z_]{3,16}){0,7}$"},
        "OCR_MAX_PAGES": integer(1),
        "OCR_DPI": integer(72, 600),
        "OCR_PAGE_TIMEOUT_SECONDS": number(0, exclusive=True),
        "SEARCH_TEXT_CONFIG": {
            "type": "string",
            "pattern": "^[a-z_][a-z0-9_]{0,62}(\\.[a-z_][a-z0-9_]{0,62})?$",
        },
    },
}
CHART_SECRETS: dict[str, tuple[str, ...]] = {
    "api": (
        "DATABASE_URL",
        "DATABASE_READ_URL",
        "REDIS_URL",
        "JWT_SECRET",
        "JWT_SECRET_PREVIOUS",
        "SENTRY_DSN",
    ),
    "web": ("REDIS_URL", "CSRF_SECRET", "SENTRY_DSN"),
    "worker": ("DATABASE_URL", "DATABASE_LISTEN_URL", "REDIS_URL", "SENTRY_DSN"),
}


BACKUP_CONFIG: dict[str, Schema] = {
    "BACKUP_RETENTION_DAYS": integer(1),
    "BACKUP_KEEP_MIN": integer(1),
    "BACKUP_LOCK_WAIT_SECONDS": number(0),
    "BACKUP_PROGRESS_INTERVAL_SECONDS": number(0, exclusive=True),
    "PUSHGATEWAY_URL": {"type": "string", "pattern": "^(https?://.+)?$"},
}
