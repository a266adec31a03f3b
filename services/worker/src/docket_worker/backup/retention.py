"""Retention: which backups to delete, and pruning a target by that policy."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from docket_worker.backup.catalog import Backup, read_catalog
from docket_worker.backup.target import Target

logger = logging.getLogger("docket.backup")


@dataclass(frozen=True)
class Policy:
    """Keep every backup younger than ``retention_days``, and always the ``keep_min`` newest good ones."""

    retention_days: int
    keep_min: int


@dataclass(frozen=True)
class Pruned:
    """What one prune removed from one target."""

    target: str
    deleted: list[str]
    debris: list[str]
    kept: int


def expired(backups: Sequence[Backup], policy: Policy, now: dt.datetime) -> list[Backup]:
    """The backups the policy deletes: older than the retention period and not among the protected newest."""
    newest_first = sorted(backups, key=lambda b: b.created_at, reverse=True)
    protected = {b.name for b in [b for b in newest_first if b.good][: policy.keep_min]}
    cutoff = now - dt.timedelta(days=policy.retention_days)
    return [b for b in newest_first if b.created_at < cutoff and b.name not in protected]


def prune(target: Target, policy: Policy, now: dt.datetime) -> Pruned:
    """Delete expired backups and the debris of interrupted runs; call only while holding the backup lock."""
    catalog = read_catalog(target)
    doomed = expired(catalog.backups, policy, now)
    for backup in doomed:
        for file in backup.all_files():
            target.delete(file)
    for file in catalog.debris:
        target.delete(file)
    result = Pruned(
        target.describe(),
        [b.name for b in doomed],
        catalog.debris,
        len(catalog.backups) - len(doomed),
    )
    logger.info(
        f"pruned {len(doomed)} backup(s) and {len(catalog.debris)} leftover file(s) from {result.target}",
        extra={
            "target": result.target,
            "deleted": result.deleted,
            "debris": result.debris,
            "kept": result.kept,
        },
    )
    return result
