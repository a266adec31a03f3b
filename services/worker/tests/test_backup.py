"""`docket-worker backup run` and `restore` as real processes against real PostgreSQL databases."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from docket_api.db.migrate import latest_version

MakeDatabase = Callable[[bool], str]


def _dumps(folder: Path) -> list[Path]:
    return sorted(folder.glob("docket-*.dump"))


def _json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.fixture
def small_backup(kit: Any, small: Any, tmp_path: Path) -> tuple[Any, Path, dict[str, str]]:
    """A small database and a directory holding one complete backup of it."""
    folder = tmp_path / "backups"
    env = kit.env(small.url, folder)
    result = kit.run("backup", "run", env=env)
    assert result.returncode == 0, result.stderr
    return small, folder, env


def test_backup_then_restore_into_a_fresh_database_reproduces_every_row_and_blob(
    kit: Any, seeded: Any, make_database: MakeDatabase, tmp_path: Path
) -> None:
    env = kit.env(seeded.url, tmp_path, BACKUP_PROGRESS_INTERVAL_SECONDS="0.1")
    started = time.monotonic()
    run = kit.run("backup", "run", env=env)
    dump_seconds = time.monotonic() - started
    assert run.returncode == 0, run.stderr

    [dump] = _dumps(tmp_path)
    name = dump.name.removesuffix(".dump")
    manifest = json.loads((tmp_path / f"{name}.manifest.json").read_text())
    sidecar = (tmp_path / f"{name}.dump.sha256").read_text()
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()
    assert sidecar == f"{digest}  {dump.name}\n"
    assert manifest["dump_sha256"] == digest
    assert manifest["dump_size_bytes"] == dump.stat().st_size
    assert manifest["schema_version"] == latest_version()
    assert manifest["row_counts"] == kit.counts(seeded.url)
    assert manifest["server_version"].startswith("18")
    assert manifest["database_size_bytes"] > 24 * 1024 * 1024
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"
    lines = _json_lines(run.stdout)
    assert any(line["msg"].startswith("backup: ") and line["bytes_written"] > 0 for line in lines), (
        "no progress lines while the dump ran without a terminal"
    )
    [metrics] = [line for line in lines if line.get("event") == "backup_metrics"]
    assert metrics["outcome"] == "succeeded"
    assert metrics["dump_size_bytes"] == dump.stat().st_size

    target = make_database(False)
    started = time.monotonic()
    restore = kit.run("restore", name, "--target-url", target, "--yes", env=env)
    restore_seconds = time.monotonic() - started
    assert restore.returncode == 0, restore.stderr
    assert "row counts match the manifest" in restore.stdout
    assert "schema is current" in restore.stdout
    assert kit.counts(target) == kit.counts(seeded.url)
    assert kit.blob_sha256(target) == seeded.blob_sha256
    print(
        f"\n24 MiB of blobs: dump {dump.stat().st_size / 2**20:.1f} MiB "
        f"in {manifest['duration_seconds']:.1f} s, "
        f"database {manifest['database_size_bytes'] / 2**20:.1f} MiB, run {dump_seconds:.1f} s, "
        f"restore {restore_seconds:.1f} s (process start included)"
    )


def test_a_run_killed_mid_dump_leaves_nothing_that_looks_complete_and_prune_clears_it(
    kit: Any, seeded: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    env = kit.env(seeded.url, folder)
    log = tmp_path / "run.log"
    process = kit.start("backup", "run", env=env, log=log)
    kit.wait_for_partial_dump(folder, process, 2 * 1024 * 1024, log)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)

    left = sorted(p.name for p in folder.iterdir())
    assert left
    assert all(name.startswith(".docket-") and name.endswith(".partial") for name in left), left
    assert not _dumps(folder)
    listing = kit.run("backup", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    assert "0 backup(s)" in listing.stdout
    assert f"{len(left)} leftover file(s)" in listing.stdout

    # pg_dump notices its reader is gone and stops; its session and our lock's go with it.
    deadline = time.monotonic() + 15
    while _backup_sessions(seeded.url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _backup_sessions(seeded.url) == 0

    prune = kit.run("backup", "prune", env={**env, "BACKUP_LOCK_WAIT_SECONDS": "10"})
    assert prune.returncode == 0, prune.stderr
    assert f"removed {len(left)} leftover file(s)" in prune.stdout
    assert list(folder.iterdir()) == []


def test_a_run_stopped_with_sigterm_cleans_up_after_itself_and_exits_143(
    kit: Any, seeded: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    log = tmp_path / "run.log"
    process = kit.start("backup", "run", env=kit.env(seeded.url, folder), log=log)
    kit.wait_for_partial_dump(folder, process, 1024 * 1024, log)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 128 + signal.SIGTERM
    assert list(folder.iterdir()) == []
    assert '"outcome":"failed"' in log.read_text()
    assert _backup_sessions(seeded.url) == 0


def _backup_sessions(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'docket-backup'")
        return int(row.fetchone()[0])  # type: ignore[index]


def test_a_dump_cut_off_by_the_server_fails_clearly_and_removes_its_temporary_file(
    kit: Any, seeded: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    log = tmp_path / "run.log"
    process = kit.start("backup", "run", env=kit.env(seeded.url, folder), log=log)
    kit.wait_for_partial_dump(folder, process, 1024 * 1024, log)
    with psycopg.connect(seeded.url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'docket-backup' AND query LIKE 'COPY %'"
        ).fetchone()
    assert killed == (1,)
    assert process.wait(30) == 1
    output = log.read_text()
    assert "docket-worker backup run: pg_dump failed (exit 1)" in output
    assert list(folder.iterdir()) == []
    assert '"outcome":"failed"' in output


def test_concurrent_runs_never_dump_at_once_one_exits_cleanly_and_one_waits_its_turn(
    kit: Any, seeded: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    env = kit.env(seeded.url, folder)
    first = kit.start("backup", "run", env=env, log=tmp_path / "first.log")
    kit.wait_for_partial_dump(folder, first, 1, tmp_path / "first.log")

    impatient = kit.run("backup", "run", env=env)
    assert impatient.returncode == 0, impatient.stderr
    assert "skipped: another backup run holds the lock" in impatient.stderr
    assert "docket-backup" in impatient.stderr

    patient = kit.start(
        "backup", "run", env={**env, "BACKUP_LOCK_WAIT_SECONDS": "60"}, log=tmp_path / "patient.log"
    )
    most_at_once = 0
    while first.poll() is None or patient.poll() is None:
        most_at_once = max(most_at_once, len(list(folder.glob(".docket-*.dump.partial"))))
        time.sleep(0.01)
    assert first.returncode == 0, (tmp_path / "first.log").read_text()
    assert patient.returncode == 0, (tmp_path / "patient.log").read_text()
    assert most_at_once == 1
    dumps = _dumps(folder)
    assert len(dumps) == 2
    assert len({d.name for d in dumps}) == 2


def test_a_flipped_byte_fails_verification_clearly_and_restore_refuses_the_dump(
    kit: Any, small_backup: Any, make_database: MakeDatabase
) -> None:
    _, folder, env = small_backup
    [dump] = _dumps(folder)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))

    verify = kit.run("backup", "verify", "--latest", env=env)
    assert verify.returncode == 1
    assert "failed verification: checksum mismatch" in verify.stderr
    assert "corrupt" in verify.stderr
    listing = kit.run("backup", "list", env=env)
    assert "FAILED" in listing.stdout

    _assert_restore_refused_and_target_empty(
        kit, env, make_database(False), dump.name, "--yes", says=["checksum mismatch"]
    )


def _assert_restore_refused_and_target_empty(
    kit: Any, env: dict[str, str], target: str, *args: str, says: list[str]
) -> None:
    """`restore ARGS --target-url TARGET` exits 1 with each of ``says`` in its message and writes nothing."""
    result = kit.run("restore", *args, "--target-url", target, env=env)
    assert result.returncode == 1
    for text in says:
        assert text in result.stderr
    assert kit.relations(target) == 0


def test_verify_with_a_restore_test_passes_for_a_good_backup_and_list_shows_it(
    kit: Any, small_backup: Any, postgres_admin_url: str
) -> None:
    _, _, env = small_backup
    verify = kit.run("backup", "verify", "--restore-test", env=env)
    assert verify.returncode == 0, verify.stderr
    assert "verified: checksum, contents, restore-test" in verify.stdout
    listing = kit.run("backup", "list", env=env)
    assert "yes, restore-tested" in listing.stdout
    with psycopg.connect(postgres_admin_url) as conn:
        scratch = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'docket_verify_%'")
        assert scratch.fetchone() == (0,), "the scratch database was not dropped"


def test_restore_without_a_target_url_is_a_usage_error(kit: Any, small_backup: Any) -> None:
    _, _, env = small_backup
    result = kit.run("restore", "--latest", env=env)
    assert result.returncode == 2
    assert "--target-url" in result.stderr


def test_restore_over_a_non_empty_database_without_clean_refuses_and_changes_nothing(
    kit: Any, small_backup: Any, make_database: MakeDatabase
) -> None:
    _, _, env = small_backup
    occupied = make_database(False)
    with psycopg.connect(occupied) as conn:
        conn.execute("CREATE TABLE precious (note text)")
        conn.execute("INSERT INTO precious VALUES ('still here')")
    result = kit.run("restore", "--latest", "--target-url", occupied, "--yes", env=env)
    assert result.returncode == 1
    assert "not empty" in result.stderr
    assert "--clean" in result.stderr
    assert kit.counts(occupied) == {"precious": 1}


def test_restore_without_yes_and_without_a_terminal_refuses(
    kit: Any, small_backup: Any, make_database: MakeDatabase
) -> None:
    _, _, env = small_backup
    _assert_restore_refused_and_target_empty(
        kit, env, make_database(False), "--latest", says=["without confirmation", "--yes"]
    )


def test_restore_with_clean_replaces_a_changed_database_with_the_backup(
    kit: Any, small_backup: Any, make_database: MakeDatabase
) -> None:
    small, _, env = small_backup
    target = make_database(False)
    first = kit.run("restore", "--latest", "--target-url", target, "--yes", env=env)
    assert first.returncode == 0, first.stderr
    with psycopg.connect(target) as conn:
        conn.execute("DELETE FROM jobs")
        conn.execute("INSERT INTO users (email, password_hash) VALUES ('late@example.com', 'x')")
    again = kit.run("restore", "--latest", "--target-url", target, "--yes", "--clean", env=env)
    assert again.returncode == 0, again.stderr
    assert kit.counts(target) == kit.counts(small.url)
    assert kit.blob_sha256(target) == small.blob_sha256


def test_a_backup_with_a_missing_sidecar_is_listed_as_incomplete_and_not_restored(
    kit: Any, small_backup: Any, make_database: MakeDatabase, tmp_path: Path
) -> None:
    _, folder, env = small_backup
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    [sidecar] = copy.glob("*.dump.sha256")
    sidecar.unlink()
    env = {**env, "BACKUP_DIR": str(copy)}
    assert "INCOMPLETE" in kit.run("backup", "list", env=env).stdout
    [dump] = _dumps(copy)
    result = kit.run("restore", dump.name, "--target-url", make_database(False), "--yes", env=env)
    assert result.returncode == 1
    assert "incomplete" in result.stderr


def test_on_a_terminal_progress_is_one_line_redrawn_in_place(kit: Any, small: Any, tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [kit.script, "backup", "run"], env=kit.env(small.url, tmp_path), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=terminal,
        )  # fmt: skip
        os.close(terminal)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once the process has closed its end
            while chunk := os.read(controller, 4096):
                shown += chunk
        assert process.wait(30) == 0
    finally:
        os.close(controller)
    assert re.search(rb"\rbackup: [0-9.]+ KiB written, [0-9.]+ s", shown), shown
