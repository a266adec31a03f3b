"""`backup run`: one consistent dump under the backup lock, published to every target, then pruning."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from docket_worker.backup.database import backup_lock, exported_snapshot, lock_holder
from docket_worker.backup.dump import dump_database
from docket_worker.backup.errors import BackupError
from docket_worker.backup.manifest import Manifest, checksum_line, encode
from docket_worker.backup.naming import Kind, backup_name, created_at, file_name, partial_name
from docket_worker.backup.pgtools import find_tool, tool_version
from docket_worker.backup.progress import Progress
from docket_worker.backup.retention import Policy, Pruned, prune
from docket_worker.backup.settings import BackupSettings
from docket_worker.backup.target import Target, directory_target, remote_targets

logger = logging.getLogger("docket.backup")
_KINDS: tuple[Kind, ...] = ("dump", "checksum", "manifest", "marker")


@dataclass(frozen=True)
class RunResult:
    """A finished run: the backup it wrote and what pruning removed, or why it did nothing."""

    status: Literal["succeeded", "skipped"]
    manifest: Manifest | None = None
    pruned: list[Pruned] = field(default_factory=list)
    detail: str = ""


def utcnow() -> dt.datetime:
    """Now, in UTC."""
    return dt.datetime.now(dt.UTC)


def run_backup(settings: BackupSettings) -> RunResult:
    """Dump the database once; if another run holds the lock for longer than the wait, do nothing."""
    if not settings.database_url:
        raise BackupError("DATABASE_URL is not set")
    directory = directory_target(settings)
    directory.ensure()
    targets: list[Target] = [directory, *remote_targets(settings)]
    pg_dump = find_tool("pg_dump", settings.pg_dump)
    with backup_lock(settings.database_url, settings.backup_lock_wait_seconds) as acquired:
        if not acquired:
            holder = lock_holder(settings.database_url)
            return RunResult("skipped", detail=f"another backup run holds the lock: {holder}")
        name = _unused_name(targets)
        logger.info(f"backup {name} started", extra={"backup_name": name, "targets": _where(targets)})
        staging = directory.staging_path(file_name(name, "dump"))
        try:
            manifest = _dump(settings, pg_dump, name, staging)
            for target in targets:
                source = staging if target is directory else directory.path(file_name(name, "dump"))
                publish(target, manifest, source)
        finally:
            staging.unlink(missing_ok=True)
        policy = Policy(settings.backup_retention_days, settings.backup_keep_min)
        pruned = [prune(target, policy, utcnow()) for target in targets]
    return RunResult("succeeded", manifest, pruned)


def _dump(settings: BackupSettings, pg_dump: str, name: str, staging: Path) -> Manifest:
    started = time.monotonic()
    progress = Progress("backup", settings.backup_progress_interval_seconds)
    with exported_snapshot(settings.database_url) as snapshot:
        dump = dump_database(pg_dump, settings.database_url, snapshot.snapshot_id, staging, progress)
    return Manifest(
        name=name,
        created_at=created_at(name).isoformat(),
        database=snapshot.database,
        server_version=snapshot.server_version,
        pg_dump_version=tool_version(pg_dump),
        database_size_bytes=snapshot.database_size_bytes,
        dump_size_bytes=dump.size_bytes,
        dump_sha256=dump.sha256,
        duration_seconds=round(time.monotonic() - started, 3),
        schema_version=snapshot.schema_version,
        row_counts=snapshot.row_counts,
    )


def publish(target: Target, manifest: Manifest, dump: Path) -> None:
    """Write the sidecars, then the dump: a dump under its final name always has both beside it."""
    dump_file = file_name(manifest.name, "dump")
    target.write(file_name(manifest.name, "checksum"), checksum_line(manifest.dump_sha256, dump_file))
    target.write(file_name(manifest.name, "manifest"), encode(manifest))
    target.store(dump_file, dump)
    logger.info(
        f"backup {manifest.name} stored in {target.describe()}",
        extra={"backup_name": manifest.name, "target": target.describe()},
    )


def _unused_name(targets: list[Target]) -> str:
    """A name no file on any target uses yet, waiting for the next second if this one is taken."""
    taken = set().union(*(target.files().keys() for target in targets))
    while True:
        name = backup_name(utcnow())
        files = [file_name(name, kind) for kind in _KINDS]
        if not taken.intersection(files + [partial_name(f) for f in files]):
            return name
        time.sleep(1.0 - time.time() % 1.0 + 0.01)


def _where(targets: list[Target]) -> list[str]:
    return [target.describe() for target in targets]
