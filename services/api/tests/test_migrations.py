"""Schema migrations: advisory-locked, checksummed, one transaction each, and the `docket-api migrate` CLI."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import pytest
from apikit import run_migrate
from embedded_services import free_port
from servers import cli

from docket_api.db.migrate import (
    ADVISORY_LOCK_KEY,
    MIGRATIONS_PACKAGE,
    Migration,
    MigrationError,
    load_migrations,
    migrate,
    status,
)

MakeDatabase = Callable[[bool], str]


def _migration_files() -> list[Path]:
    package = Path(str(resources.files(MIGRATIONS_PACKAGE)))
    return sorted(package.glob("*.sql"))


def _history(url: str) -> list[tuple[int, str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        return [(int(version), str(name), str(checksum)) for version, name, checksum in rows.fetchall()]


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        return {str(name) for (name,) in rows}


def _queued_runners(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = 'docket-migrate' AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
    ).fetchone()
    return int(row[0]) if row else 0


def _wait_for_queued_runners(conn: psycopg.Connection[Any], count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while _queued_runners(conn) < count:
        assert time.monotonic() < deadline, f"fewer than {count} runners queued on the advisory lock"
        time.sleep(0.05)


def test_every_sql_file_in_the_migrations_folder_is_a_numbered_migration_that_loads() -> None:
    files = _migration_files()
    loaded = load_migrations()
    assert files, "no migrations shipped"
    assert [(m.version, m.name) for m in loaded] == [(int(f.name[:4]), f.stem[5:]) for f in files]
    assert [m.version for m in loaded] == sorted({m.version for m in loaded})


def test_concurrent_runs_on_an_empty_database_apply_each_migration_exactly_once(
    make_database: MakeDatabase,
) -> None:
    url = make_database(False)
    runners = 6
    start = threading.Barrier(runners)
    results: list[list[Migration]] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait(10)
        try:
            results.append(migrate(url))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(results) == runners
    shipped = load_migrations()
    applied = [m.version for result in results for m in result]
    assert sorted(applied) == [m.version for m in shipped]  # every migration by exactly one runner
    assert sorted(len(result) for result in results) == [0] * (runners - 1) + [len(shipped)]
    assert [(v, n) for v, n, _ in _history(url)] == [(m.version, m.name) for m in shipped]


def test_concurrent_cli_processes_apply_each_migration_exactly_once(make_database: MakeDatabase) -> None:
    url = make_database(False)
    env = {**os.environ, "DATABASE_URL": url}
    with psycopg.connect(url, autocommit=True) as holder:
        # hold the lock until all four processes queue on it, so they really do start together
        holder.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        procs = [
            subprocess.Popen(
                [*cli("docket-api"), "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        _wait_for_queued_runners(holder, 4)
        holder.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    outputs = [proc.communicate(timeout=60) for proc in procs]

    assert [proc.returncode for proc in procs] == [0] * 4, outputs
    shipped = load_migrations()
    summaries = sorted(out.strip().splitlines()[-1] for out, _ in outputs)
    assert summaries == sorted(
        [f"applied {len(shipped)} migration(s); schema is current"]
        + ["applied 0 migration(s); schema is current"] * 3
    )
    assert len(_history(url)) == len(_migration_files())


def test_a_runner_waits_while_another_holds_the_advisory_lock(make_database: MakeDatabase) -> None:
    url = make_database(False)
    done: list[list[Migration]] = []
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        runner = threading.Thread(target=lambda: done.append(migrate(url)))
        runner.start()
        _wait_for_queued_runners(holder, 1, timeout=10)
        time.sleep(0.3)
        assert runner.is_alive()
        assert "schema_migrations" not in _tables(url)  # nothing ran while the lock was held
        holder.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    runner.join(30)
    assert not runner.is_alive()
    assert [m.version for m in done[0]] == [m.version for m in load_migrations()]


def test_each_applied_migration_is_recorded_with_the_sha256_of_its_file(make_database: MakeDatabase) -> None:
    url = make_database(False)
    migrate(url)
    expected = [
        (int(f.name[:4]), f.stem[5:], hashlib.sha256(f.read_bytes()).hexdigest()) for f in _migration_files()
    ]
    assert _history(url) == expected


def test_runner_refuses_a_database_whose_applied_migration_file_has_changed(
    make_database: MakeDatabase, tmp_path: Path
) -> None:
    url = make_database(False)
    for file in _migration_files():
        shutil.copy(file, tmp_path / file.name)
    migrate(url, migrations=load_migrations(tmp_path))
    before = _history(url)

    first = sorted(tmp_path.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\nCREATE TABLE sneaked_in (id int);\n")
    (tmp_path / "9000_later.sql").write_text("CREATE TABLE later (id int);\n")
    changed = load_migrations(tmp_path)

    with pytest.raises(MigrationError, match=rf"{first.name} has changed since it was applied") as caught:
        migrate(url, migrations=changed)
    assert "write a new migration instead" in str(caught.value)
    with pytest.raises(MigrationError, match="has changed since it was applied"):
        status(url, migrations=changed)
    with pytest.raises(MigrationError, match="has changed since it was applied"):
        migrate(url, dry_run=True, migrations=changed)
    assert _history(url) == before  # refused before applying 9000 too
    assert not {"sneaked_in", "later"} & _tables(url)


def test_runner_refuses_a_database_with_a_migration_this_code_does_not_know(
    make_database: MakeDatabase,
) -> None:
    url = make_database(True)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')")
    with pytest.raises(MigrationError, match="9999_future which this code does not know"):
        migrate(url)
    result = run_migrate("--status", database_url=url)
    assert result.returncode == 1
    assert "9999_future which this code does not know" in result.stderr


def test_cli_migrate_exits_non_zero_with_the_changed_migration_named_on_stderr(
    make_database: MakeDatabase,
) -> None:
    url = make_database(True)
    first = load_migrations()[0]
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE schema_migrations SET checksum = %s WHERE version = %s",
            (hashlib.sha256(b"an older edit of the file").hexdigest(), first.version),
        )
    message = f"migration {first.version:04d}_{first.name}.sql has changed since it was applied"

    for args in ((), ("--status",), ("--dry-run",)):
        result = run_migrate(*args, database_url=url)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_failing_migration_is_rolled_back_whole_and_named(make_database: MakeDatabase) -> None:
    url = make_database(False)
    good = Migration(1, "create_first", "CREATE TABLE first_table (id int);")
    bad = Migration(
        2,
        "half_done",
        "CREATE TABLE second_table (id int);\nINSERT INTO first_table VALUES (1);\nSELECT 1 / 0;",
    )
    later = Migration(3, "never_reached", "CREATE TABLE third_table (id int);")

    with pytest.raises(MigrationError, match="0002_half_done") as caught:
        migrate(url, migrations=[good, bad, later])
    assert isinstance(caught.value.__cause__, psycopg.errors.DivisionByZero)

    assert _tables(url) == {"schema_migrations", "first_table"}  # nothing of 0002, and 0003 not tried
    assert [v for v, _, _ in _history(url)] == [1]
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM first_table").fetchone()
    assert row == (0,)  # 0002's insert was rolled back with its table

    fixed = Migration(2, "half_done", "CREATE TABLE second_table (id int);")
    assert [m.version for m in migrate(url, migrations=[good, fixed, later])] == [2, 3]
    assert [v for v, _, _ in _history(url)] == [1, 2, 3]


def test_cli_dry_run_lists_pending_migrations_and_changes_nothing(make_database: MakeDatabase) -> None:
    url = make_database(False)
    shipped = load_migrations()

    result = run_migrate("--dry-run", database_url=url)

    assert result.returncode == 0, result.stderr
    for migration in shipped:
        assert f"would apply {migration.version:04d}_{migration.name}" in result.stdout
    assert f"would apply {len(shipped)} migration(s)" in result.stdout
    assert _tables(url) == set()  # not even the history table: a dry run must work read-only


def test_cli_migrate_applies_pending_migrations_then_has_nothing_left(make_database: MakeDatabase) -> None:
    url = make_database(False)
    shipped = load_migrations()

    first = run_migrate(database_url=url)
    assert first.returncode == 0, first.stderr
    for migration in shipped:
        assert f"applied {migration.version:04d}_{migration.name}" in first.stdout
    assert {"users", "documents", "jobs", "schema_migrations"} <= _tables(url)
    assert len(_history(url)) == len(shipped)

    again = run_migrate(database_url=url)
    assert again.returncode == 0, again.stderr
    assert "applied 0 migration(s); schema is current" in again.stdout
    dry = run_migrate("--dry-run", database_url=url)
    assert "would apply 0 migration(s)" in dry.stdout


def test_cli_status_is_non_zero_while_behind_and_zero_when_current(make_database: MakeDatabase) -> None:
    url = make_database(False)
    shipped = load_migrations()

    behind = run_migrate("--status", database_url=url)
    assert behind.returncode != 0
    for migration in shipped:
        assert f"{migration.version:04d}  pending   {migration.phase:8}  {migration.name}" in behind.stdout
    assert f"schema is behind by {len(shipped)} migration(s)" in behind.stdout
    assert _tables(url) == set()  # --status only reads

    assert run_migrate(database_url=url).returncode == 0
    current = run_migrate("--status", database_url=url)
    assert current.returncode == 0, current.stderr
    for migration in shipped:
        assert f"{migration.version:04d}  applied   {migration.phase:8}  {migration.name}" in current.stdout
    assert "schema is current" in current.stdout


@pytest.mark.parametrize("args", [(), ("--status",), ("--dry-run",)])
def test_cli_without_database_url_exits_2_with_a_clear_message(args: tuple[str, ...]) -> None:
    result = run_migrate(*args, database_url=None)
    assert result.returncode == 2
    assert "DATABASE_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_reports_an_unreachable_database_without_a_traceback() -> None:
    result = run_migrate(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    assert result.returncode == 1
    assert "docket-api: migration failed:" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_in_production_needs_only_the_database_url(make_database: Callable[[bool], str]) -> None:
    url = make_database(False)
    env = {"ENVIRONMENT": "production", "DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [*cli("docket-api"), "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    status = subprocess.run(
        [*cli("docket-api"), "migrate", "--status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert status.returncode == 0
    assert "schema is current" in status.stdout
