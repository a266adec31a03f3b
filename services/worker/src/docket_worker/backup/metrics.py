"""Each run's figures: one JSON log line always, and the Pushgateway when PUSHGATEWAY_URL is set."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, pushadd_to_gateway

logger = logging.getLogger("docket.backup")
JOB = "docket-backup"


@dataclass(frozen=True)
class RunMetrics:
    """What a `backup run` did, for alerting and capacity planning."""

    outcome: str  # succeeded, skipped or failed
    backup_name: str
    finished_at: float
    duration_seconds: float
    dump_size_bytes: int = 0
    database_size_bytes: int = 0
    schema_version: int = 0
    backups_pruned: int = 0
    error: str = ""


def report(metrics: RunMetrics, pushgateway_url: str) -> None:
    """Log the figures as one JSON line and push them if a gateway is configured."""
    logger.info("backup metrics", extra={"event": "backup_metrics", **asdict(metrics)})
    if not pushgateway_url or metrics.outcome == "skipped":
        return
    try:
        _push(metrics, pushgateway_url)
    except OSError as exc:  # urllib's errors; a metrics outage must not fail a good backup
        logger.warning(f"could not push backup metrics to {pushgateway_url}: {exc}")


def _push(metrics: RunMetrics, url: str) -> None:
    registry = CollectorRegistry()

    def gauge(name: str, documentation: str, value: float) -> None:
        Gauge(name, documentation, registry=registry).set(value)

    gauge("docket_backup_last_run_timestamp_seconds", "When the last backup run ended.", metrics.finished_at)
    succeeded = metrics.outcome == "succeeded"
    gauge("docket_backup_last_run_success", "1 if the last backup run succeeded.", succeeded)
    if not succeeded:
        # Add to the group, so the last success's figures stay for the staleness alert.
        pushadd_to_gateway(url, job=JOB, registry=registry, timeout=10)
        return
    gauge(
        "docket_backup_last_success_timestamp_seconds",
        "When the last good backup ended.",
        metrics.finished_at,
    )
    gauge("docket_backup_duration_seconds", "How long the last good backup took.", metrics.duration_seconds)
    gauge("docket_backup_size_bytes", "Size of the last good dump.", metrics.dump_size_bytes)
    gauge("docket_backup_database_size_bytes", "Size of the database it dumped.", metrics.database_size_bytes)
    gauge("docket_backup_schema_version", "Schema version in the last good dump.", metrics.schema_version)
    gauge("docket_backup_pruned", "Backups the last run deleted by retention.", metrics.backups_pruned)
    push_to_gateway(url, job=JOB, registry=registry, timeout=10)
