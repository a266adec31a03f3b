"""`restore`: load a checked backup into a database that is empty, or that the operator said to clean."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docket_worker.backup.catalog import Backup
from docket_worker.backup.database import counts_at, user_relations
from docket_worker.backup.errors import BackupError
from docket_worker.backup.pgtools import describe_database
from docket_worker.backup.progress import Progress
from docket_worker.backup.restore_tool import load
from docket_worker.backup.target import Target
from docket_worker.backup.units import format_bytes
from docket_worker.backup.verify import check_integrity, compare_counts


@dataclass(frozen=True)
class Restored:
    """A restore that finished, with what the database now holds."""

    backup: str
    database: str
    schema_version: int
    row_counts: dict[str, int]
    seconds: float


def restore_backup(
    target: Target,
    backup: Backup,
    target_url: str,
    *,
    clean: bool,
    confirm: Callable[[str], bool],
    pg_restore: str,
    scratch: Path,
    progress_interval: float,
) -> Restored:
    """Check the dump, refuse a non-empty database unless ``clean``, ask ``confirm``, then restore."""
    where = describe_database(target_url)
    existing = user_relations(target_url)
    if existing and not clean:
        raise BackupError(
            f"refusing to restore into {where}: it is not empty ({existing} tables, views or sequences). "
            "Restore into a new, empty database, or pass --clean to drop and replace what the backup holds"
        )
    local, manifest = check_integrity(target, backup, scratch)
    action = "drop the objects the backup holds and replace them" if existing else "fill the empty database"
    question = (
        f"Restore {backup.name} ({format_bytes(manifest.dump_size_bytes)}, schema version "
        f"{manifest.schema_version}) into {where}? This will {action}."
    )
    if not confirm(question):
        raise BackupError("restore cancelled: it was not confirmed")
    started = time.monotonic()
    load(pg_restore, local, target_url, clean=clean, progress=Progress("restore", progress_interval))
    version, counts = counts_at(target_url)
    compare_counts(manifest.row_counts, counts)
    return Restored(backup.name, where, version, counts, time.monotonic() - started)
