"""Prometheus metrics shared by the services, and the ``/metrics`` handler.

With one server process (the default: scale with replicas) the default registry is served. With
``WORKERS`` > 1 the CLI sets ``PROMETHEUS_MULTIPROC_DIR`` before the app is imported, and the
handler aggregates every process's files (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from litestar import Response, get
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from psycopg_pool import AsyncConnectionPool

POOL_STATS_INTERVAL_SECONDS = 5.0
HTTP_REQUESTS = Counter(
    "docket_http_requests_total", "HTTP requests by route template and status", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "docket_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_POOL_SIZE = Gauge("docket_db_pool_size", "Connections the pool holds", multiprocess_mode="livesum")
DB_POOL_IN_USE = Gauge("docket_db_pool_in_use", "Connections lent out", multiprocess_mode="livesum")
DB_POOL_WAITING = Gauge(
    "docket_db_pool_waiting", "Requests waiting for a connection", multiprocess_mode="livesum"
)
RATE_LIMIT_REJECTIONS = Counter(
    "docket_rate_limit_rejections_total", "Requests rejected by the rate limiter", ["bucket"]
)
RATE_LIMITER_ERRORS = Counter(
    "docket_rate_limiter_errors_total", "Rate-limit checks skipped because Redis failed (fail open)"
)

# Uploads refused while their body arrives (API and web): too_slow, too_long (UPLOAD_* pace),
# too_large (MAX_UPLOAD_BYTES), spool_full (UPLOAD_SPOOL_MAX_BYTES), disconnected (client went away).
UPLOAD_REFUSALS = Counter(
    "docket_upload_refusals_total", "Uploads stopped before they were stored", ["reason"]
)
# Per-user quotas the API enforces: stored_bytes, documents, uploads_in_flight, reprocess_queued.
QUOTA_REFUSALS = Counter("docket_quota_refusals_total", "Requests refused by a per-user quota", ["quota"])
QUOTA_CHECK_ERRORS = Counter(
    "docket_quota_check_errors_total", "In-flight upload checks skipped because Redis failed (fail open)"
)
UPLOAD_SPOOL_BYTES = Gauge(
    "docket_upload_spool_bytes",
    "Bytes of upload bodies held in memory or TMPDIR",
    multiprocess_mode="livesum",
)


def record_pool_stats(stats: dict[str, int]) -> None:
    """Copy psycopg-pool's ``get_stats()`` into the pool gauges."""
    size = stats.get("pool_size", 0)
    DB_POOL_SIZE.set(size)
    DB_POOL_IN_USE.set(size - stats.get("pool_available", 0))
    DB_POOL_WAITING.set(stats.get("requests_waiting", 0))


async def sample_pool_stats(
    pool: AsyncConnectionPool[Any], interval: float = POOL_STATS_INTERVAL_SECONDS
) -> None:
    """Record the pool's gauges every ``interval`` seconds until cancelled (run it as a lifespan task)."""
    while True:
        record_pool_stats(pool.get_stats())
        await asyncio.sleep(interval)


def render_metrics() -> bytes:
    """The text exposition of every metric of this service (all processes in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics_endpoint() -> Response[bytes]:
    """Prometheus scrape endpoint."""
    # the classic text format every Prometheus understands; Litestar appends the charset itself
    return Response(render_metrics(), media_type="text/plain; version=0.0.4")
