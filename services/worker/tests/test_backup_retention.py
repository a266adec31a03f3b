"""Retention: `backup prune` deletes by age but never below BACKUP_KEEP_MIN good backups."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest

from docket_worker.backup.catalog import Backup
from docket_worker.backup.manifest import Manifest, Verification, checksum_line, encode
from docket_worker.backup.naming import backup_name, created_at
from docket_worker.backup.retention import Policy, expired

NOW = dt.datetime.now(dt.UTC)


def _fake_backup(folder: Path, age: dt.timedelta, *, failed: bool = False) -> str:
    """Files of a backup taken ``age`` ago, as a run writes them (the dump's bytes are not a real dump)."""
    folder.mkdir(exist_ok=True)
    name = backup_name(NOW - age)
    dump = f"dump of {name}".encode()
    digest = hashlib.sha256(dump).hexdigest()
    (folder / f"{name}.dump").write_bytes(dump)
    (folder / f"{name}.dump.sha256").write_bytes(checksum_line(digest, f"{name}.dump"))
    manifest = Manifest(
        name=name, created_at=created_at(name).isoformat(), database="docket", server_version="18.1",
        pg_dump_version="pg_dump (PostgreSQL) 18.1", database_size_bytes=1000, dump_size_bytes=len(dump),
        dump_sha256=digest, duration_seconds=1.0, schema_version=2, row_counts={"users": 1},
    )  # fmt: skip
    (folder / f"{name}.manifest.json").write_bytes(encode(manifest))
    if failed:
        marker = Verification(
            ok=False, verified_at=NOW.isoformat(), checks=[], detail="checksum mismatch", dump_sha256=digest
        )
        (folder / f"{name}.verified.json").write_bytes(encode(marker))
    return name


def _remaining(folder: Path) -> list[str]:
    return sorted(p.name.removesuffix(".dump") for p in folder.glob("docket-*.dump"))


def _prune(kit: Any, database_url: str, folder: Path, days: int, keep: int) -> Any:
    env = kit.env(
        database_url, folder, BACKUP_RETENTION_DAYS=str(days), BACKUP_KEEP_MIN=str(keep),
        BACKUP_LOCK_WAIT_SECONDS="10",
    )  # fmt: skip
    result = kit.run("backup", "prune", env=env)
    assert result.returncode == 0, result.stderr
    return result


def test_prune_keeps_the_last_30_days_of_nightly_backups_and_deletes_older_ones_with_their_files(
    kit: Any, database_url: str, tmp_path: Path
) -> None:
    names = [_fake_backup(tmp_path, dt.timedelta(days=d, hours=1)) for d in range(41)]
    result = _prune(kit, database_url, tmp_path, days=30, keep=7)
    assert _remaining(tmp_path) == sorted(names[:30])
    assert "deleted 11 backup(s)" in result.stdout
    leftovers = {p.name.split(".", 1)[0] for p in tmp_path.iterdir()}
    assert leftovers == set(names[:30]), "a deleted backup left a sidecar behind"


def test_when_the_cronjob_stopped_for_a_month_prune_still_keeps_the_newest_keep_min_good_backups(
    kit: Any, database_url: str, tmp_path: Path
) -> None:
    newest_failed = _fake_backup(tmp_path, dt.timedelta(days=33), failed=True)
    good = [_fake_backup(tmp_path, dt.timedelta(days=d, hours=1)) for d in range(34, 55)]
    _prune(kit, database_url, tmp_path, days=30, keep=7)
    assert _remaining(tmp_path) == sorted(good[:7])
    assert newest_failed not in _remaining(tmp_path)
    _prune(kit, database_url, tmp_path, days=30, keep=7)
    assert _remaining(tmp_path) == sorted(good[:7]), "a second prune must not eat into the minimum"


def test_prune_removes_debris_but_leaves_files_that_are_not_backups(
    kit: Any, database_url: str, tmp_path: Path
) -> None:
    kept = _fake_backup(tmp_path, dt.timedelta(hours=1))
    (tmp_path / ".docket-20250101T020000Z.dump.partial").write_bytes(b"half a dump")
    (tmp_path / "docket-20250102T020000Z.manifest.json").write_bytes(b"{}")  # its dump never landed
    (tmp_path / "README").write_text("an operator's note")
    listing = kit.run("backup", "list", env=kit.env(database_url, tmp_path))
    assert "1 backup(s)" in listing.stdout
    assert "2 leftover file(s)" in listing.stdout
    _prune(kit, database_url, tmp_path, days=30, keep=7)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["README", f"{kept}.dump", f"{kept}.dump.sha256", f"{kept}.manifest.json"]
    )


def _backup(age_days: float, *, good: bool = True) -> Backup:
    name = backup_name(NOW - dt.timedelta(days=age_days))
    files: Any = {"dump": 1, "checksum": 1, "manifest": 1}
    marker = None if good else Verification(ok=False, verified_at="", checks=[], detail="", dump_sha256="")
    return Backup(name, created_at(name), files, marker)


@pytest.mark.parametrize(
    ("ages", "days", "keep", "deleted"),
    [
        ([1, 2, 3], 30, 7, []),
        ([10, 20, 31, 32], 30, 1, [31, 32]),
        ([31, 32, 33], 30, 2, [33]),
        ([40, 41], 30, 7, []),
        ([1, 40, 41], 30, 2, [41]),
    ],
)
def test_expired_is_older_than_retention_and_outside_the_newest_keep_min(
    ages: list[float], days: int, keep: int, deleted: list[float]
) -> None:
    backups = [_backup(age) for age in ages]
    gone = expired(backups, Policy(days, keep), NOW)
    assert sorted(b.name for b in gone) == sorted(_backup(age).name for age in deleted)


def test_a_backup_that_failed_verification_does_not_count_towards_the_minimum() -> None:
    broken, older = _backup(40, good=False), _backup(41)
    assert expired([broken, older], Policy(30, 1), NOW) == [broken]
