"""The worker's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS = Counter("docket_jobs_total", "Jobs finished, by kind and outcome", ["kind", "outcome"])
JOB_DURATION = Histogram(
    "docket_job_duration_seconds",
    "Time from claim to outcome, by kind",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
QUEUE_DEPTH = Gauge("docket_jobs_queue_depth", "Jobs queued and ready to run", multiprocess_mode="max")
OLDEST_PENDING = Gauge(
    "docket_jobs_oldest_pending_seconds", "Age of the oldest job waiting to run", multiprocess_mode="max"
)
IN_FLIGHT = Gauge("docket_jobs_in_flight", "Jobs this process is running", multiprocess_mode="livesum")
SEARCH_REINDEX_REMAINING = Gauge(
    "docket_search_reindex_remaining_documents",
    "Documents whose search vector still waits to be rebuilt for SEARCH_TEXT_CONFIG (0: none)",
    multiprocess_mode="mostrecent",
)
