"""The backup and restore commands: load settings, run one, and report its outcome and exit code."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import psycopg

from docket_core.cli import settings_or_exit
from docket_core.logging import configure_logging, redact_text
from docket_worker.backup.catalog import Backup, read_catalog
from docket_worker.backup.errors import BackupError
from docket_worker.backup.metrics import RunMetrics, report
from docket_worker.backup.pgtools import database_name, find_tool
from docket_worker.backup.retention import Policy, prune
from docket_worker.backup.settings import BackupSettings
from docket_worker.backup.target import configured_targets, select_target
from docket_worker.backup.units import format_age, format_bytes

SERVICE_NAME = "docket-worker"
logger = logging.getLogger("docket.backup")
Handler = Callable[[BackupSettings, argparse.Namespace], int]


def run_command(command: str, args: argparse.Namespace) -> int:
    """Run ``command`` (run, prune, list, verify or restore) with settings from the environment."""
    label = command if command == "restore" else f"backup {command}"
    settings = settings_or_exit(BackupSettings, "docket-worker")
    if command != "list":
        configure_logging(settings.log_level, SERVICE_NAME)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _HANDLERS[command](settings, args)
    except (BackupError, psycopg.Error, OSError) as exc:
        print(f"docket-worker {label}: {_message(exc)}", file=sys.stderr)
        return 1


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Unwind on SIGTERM (a deleted Job) so temporary files and child processes are cleaned up."""
    raise SystemExit(128 + signum)


def _message(exc: BaseException) -> str:
    if isinstance(exc, psycopg.Error):
        return redact_text(f"database error: {str(exc).strip() or type(exc).__name__}")
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return redact_text(str(exc))


def _run(settings: BackupSettings, args: argparse.Namespace) -> int:
    from docket_worker.backup.run import run_backup

    started = time.monotonic()
    try:
        result = run_backup(settings)
    except BaseException as exc:
        message = _message(exc) if not isinstance(exc, SystemExit) else f"interrupted (exit {exc.code})"
        logger.error(f"backup failed: {message}", extra={"error": message})
        report(
            RunMetrics("failed", "", time.time(), time.monotonic() - started, error=message),
            settings.pushgateway_url,
        )
        raise
    if result.status == "skipped":
        logger.warning(f"backup skipped: {result.detail}")
        print(f"docket-worker backup run: skipped: {result.detail}", file=sys.stderr)
        report(RunMetrics("skipped", "", time.time(), time.monotonic() - started), settings.pushgateway_url)
        return 0
    manifest = result.manifest
    assert manifest is not None
    metrics = RunMetrics(
        "succeeded", manifest.name, time.time(), round(time.monotonic() - started, 3),
        manifest.dump_size_bytes, manifest.database_size_bytes, manifest.schema_version,
        sum(len(p.deleted) for p in result.pruned),
    )  # fmt: skip
    report(metrics, settings.pushgateway_url)
    return 0


def _prune(settings: BackupSettings, args: argparse.Namespace) -> int:
    from docket_worker.backup.database import backup_lock, lock_holder

    if not settings.database_url:
        raise BackupError("DATABASE_URL is not set: prune takes the backup lock so it never races a run")
    targets = configured_targets(settings)
    policy = Policy(settings.backup_retention_days, settings.backup_keep_min)
    with backup_lock(settings.database_url, settings.backup_lock_wait_seconds) as acquired:
        if not acquired:
            detail = f"a backup run holds the lock: {lock_holder(settings.database_url)}"
            print(f"docket-worker backup prune: skipped: {detail}", file=sys.stderr)
            return 0
        for target in targets:
            pruned = prune(target, policy, dt.datetime.now(dt.UTC))
            print(
                f"{pruned.target}: deleted {len(pruned.deleted)} backup(s), removed {len(pruned.debris)} "
                f"leftover file(s), kept {pruned.kept}"
            )
    return 0


def _list(settings: BackupSettings, args: argparse.Namespace) -> int:
    targets = [t for t in configured_targets(settings) if args.source in ("all", t.label)]
    if not targets:
        raise BackupError(f"no {args.source} target is configured")
    now = dt.datetime.now(dt.UTC)
    print(f"{'BACKUP':<25} {'WHERE':<5} {'AGE':>8} {'SIZE':>10}  VERIFIED")
    notes = []
    for target in targets:
        catalog = read_catalog(target)
        for backup in catalog.backups:
            age, size = format_age(now - backup.created_at), format_bytes(backup.dump_size)
            print(f"{backup.name:<25} {target.label:<5} {age:>8} {size:>10}  {_verified(backup)}")
        notes.append(f"{target.label} {target.describe()}: {len(catalog.backups)} backup(s)")
        if catalog.debris:
            notes.append(
                f"  {len(catalog.debris)} leftover file(s) of interrupted runs ignored; "
                "`docket-worker backup prune` removes them"
            )
    print("\n" + "\n".join(notes))
    return 0


def _verified(backup: Backup) -> str:
    if not backup.complete:
        return "INCOMPLETE (checksum or manifest missing)"
    check = backup.verification
    if check is None:
        return "no"
    if not check.ok:
        return f"FAILED {check.verified_at}: {check.detail}"
    how = "restore-tested" if "restore-test" in check.checks else "checksum and contents"
    return f"yes, {how}, {check.verified_at}"


def _verify(settings: BackupSettings, args: argparse.Namespace) -> int:
    from docket_worker.backup.verify import verify_backup

    if args.restore_test and not settings.database_url:
        raise BackupError("--restore-test needs DATABASE_URL: the server to create a scratch database on")
    target = select_target(settings, args.source)
    backup = read_catalog(target).find(None if args.latest else args.name)
    with _scratch(settings) as scratch:
        try:
            result = verify_backup(
                target, backup, pg_restore=find_tool("pg_restore", settings.pg_restore), scratch=scratch,
                restore_test_url=settings.database_url if args.restore_test else None,
                progress_interval=settings.backup_progress_interval_seconds,
            )  # fmt: skip
        except BackupError as exc:
            raise BackupError(f"{backup.name} failed verification: {exc}") from None
    print(f"{backup.name} ({target.label}): verified: {', '.join(result.checks)}")
    return 0


def _restore(settings: BackupSettings, args: argparse.Namespace) -> int:
    from docket_worker.backup.restore import restore_backup
    from docket_worker.backup.schema_check import migration_status, summarise

    target = select_target(settings, args.source)
    backup = read_catalog(target).find(None if args.latest else args.name)
    with _scratch(settings) as scratch:
        restored = restore_backup(
            target, backup, args.target_url, clean=args.clean,
            confirm=_confirmation(args.yes, database_name(args.target_url)),
            pg_restore=find_tool("pg_restore", settings.pg_restore), scratch=scratch,
            progress_interval=settings.backup_progress_interval_seconds,
        )  # fmt: skip
    rows = ", ".join(f"{table} {count}" for table, count in sorted(restored.row_counts.items()))
    print(f"restored {restored.backup} into {restored.database} in {restored.seconds:.1f} s")
    print(f"row counts match the manifest: {rows}")
    summary, code = summarise(migration_status(args.target_url), restored.schema_version)
    print(summary, file=sys.stderr if code else sys.stdout)
    return code


def _confirmation(assume_yes: bool, database: str) -> Callable[[str], bool]:
    def confirm(question: str) -> bool:
        if assume_yes:
            return True
        if not sys.stdin or not sys.stdin.isatty():
            raise BackupError("refusing to restore without confirmation: no terminal to ask on; pass --yes")
        answer = input(f"{question}\nType the database name ({database}) to go ahead: ")
        return answer.strip() == database

    return confirm


@contextlib.contextmanager
def _scratch(settings: BackupSettings) -> Iterator[Path]:
    """Room for a downloaded dump: under BACKUP_DIR (a volume sized for dumps) when it exists."""
    parent = settings.backup_dir if settings.backup_dir and Path(settings.backup_dir).is_dir() else None
    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=parent) as folder:
        yield Path(folder)


_HANDLERS: dict[str, Handler] = {
    "run": _run,
    "prune": _prune,
    "list": _list,
    "verify": _verify,
    "restore": _restore,
}
