"""`backup verify`: checksum, a readable table of contents, and optionally a real restore, recorded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from docket_worker.backup.catalog import Backup
from docket_worker.backup.database import counts_at, scratch_database
from docket_worker.backup.dump import sha256_file
from docket_worker.backup.errors import BackupError
from docket_worker.backup.manifest import Manifest, Verification, decode_manifest, encode, parse_checksum
from docket_worker.backup.naming import file_name
from docket_worker.backup.progress import Progress
from docket_worker.backup.restore_tool import list_contents, load, tables_with_data
from docket_worker.backup.target import Target


def check_integrity(target: Target, backup: Backup, scratch: Path) -> tuple[Path, Manifest]:
    """A local copy of the dump whose SHA-256 matches its sidecar and manifest, and that manifest."""
    if not backup.complete:
        missing = {"checksum", "manifest"} - backup.files.keys()
        raise BackupError(f"{backup.name} is incomplete: its {' and '.join(sorted(missing))} file is missing")
    dump_file, checksum_file = file_name(backup.name, "dump"), file_name(backup.name, "checksum")
    recorded = parse_checksum(target.read(checksum_file), checksum_file)
    local = target.fetch(dump_file, scratch)
    actual = sha256_file(local)
    if actual != recorded:
        raise BackupError(
            f"checksum mismatch: {dump_file} has SHA-256 {actual[:16]}… but {checksum_file} records "
            f"{recorded[:16]}…; the dump is corrupt or was changed after it was written"
        )
    manifest_file = file_name(backup.name, "manifest")
    manifest = decode_manifest(target.read(manifest_file), manifest_file)
    if manifest.dump_sha256 != recorded:
        raise BackupError(f"{manifest_file} and {checksum_file} disagree about the dump's SHA-256")
    return local, manifest


def compare_counts(expected: dict[str, int], found: dict[str, int]) -> None:
    """Raise naming every table whose row count differs from the manifest's."""
    differences = [
        f"{table}: {found.get(table, 'missing')} rows, manifest says {rows}"
        for table, rows in sorted(expected.items())
        if found.get(table) != rows
    ]
    if differences:
        raise BackupError("row counts differ from the manifest: " + "; ".join(differences))


def verify_backup(
    target: Target,
    backup: Backup,
    *,
    pg_restore: str,
    scratch: Path,
    restore_test_url: str | None,
    progress_interval: float,
) -> Verification:
    """Run the checks and record the outcome beside the dump, failed or not; raise if one fails.

    With ``restore_test_url`` (a server's URL), the dump is also restored into a scratch database there.
    """
    checks: list[str] = []
    sha256 = ""
    try:
        local, manifest = check_integrity(target, backup, scratch)
        sha256 = manifest.dump_sha256
        checks.append("checksum")
        missing = set(manifest.row_counts) - tables_with_data(list_contents(pg_restore, local))
        if missing:
            raise BackupError(f"the dump holds no data for {', '.join(sorted(missing))}")
        checks.append("contents")
        if restore_test_url:
            with scratch_database(restore_test_url) as scratch_url:
                load(
                    pg_restore,
                    local,
                    scratch_url,
                    clean=False,
                    progress=Progress("restore test", progress_interval),
                )
                _, counts = counts_at(scratch_url)
            compare_counts(manifest.row_counts, counts)
            checks.append("restore-test")
    except BackupError as exc:
        _record(
            target,
            backup,
            Verification(ok=False, verified_at=_now(), checks=checks, detail=str(exc), dump_sha256=sha256),
        )
        raise
    result = Verification(
        ok=True, verified_at=_now(), checks=checks, detail="all checks passed", dump_sha256=sha256
    )
    _record(target, backup, result)
    return result


def _record(target: Target, backup: Backup, verification: Verification) -> None:
    target.write(file_name(backup.name, "marker"), encode(verification))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
