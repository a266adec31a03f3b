"""Apply the numbered ``.sql`` migrations under an advisory lock, recording each with its checksum."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import psycopg

MIGRATIONS_PACKAGE = "docket_api.db.migrations"
# Any fixed number works; it only has to be the same for every process that migrates this database.
ADVISORY_LOCK_KEY = 0x646F636B6574  # "docket"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# The first line of a migration may name its phase; a file without one is an expand step.
_PHASE_HEADER = re.compile(r"\A--\s*phase:\s*(\S+)")
EXPAND, CONTRACT = "expand", "contract"
PHASES = (EXPAND, CONTRACT)


class MigrationError(RuntimeError):
    """The database's migration history does not match the code."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def phase(self) -> str:
        """``expand`` (the previous release still works after it) or ``contract`` (drops what only the
        previous release read), from the file's ``-- phase:`` header."""
        match = _PHASE_HEADER.match(self.sql)
        if match is None:
            return EXPAND
        if match[1] not in PHASES:
            raise MigrationError(
                f"migration {self.version:04d}_{self.name}.sql names phase {match[1]!r}; use one of {PHASES}"
            )
        return match[1]

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationState:
    migration: Migration
    applied: bool


def load_migrations(source: Traversable | None = None) -> list[Migration]:
    """Every migration in ``source`` (default: those shipped with the code), in version order."""
    found = []
    for entry in (source or resources.files(MIGRATIONS_PACKAGE)).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return _in_order(found)


def _in_order(migrations: Sequence[Migration]) -> list[Migration]:
    ordered = sorted(migrations, key=lambda m: m.version)
    versions = [m.version for m in ordered]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version: {versions}")
    return ordered


CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


def _applied(conn: psycopg.Connection) -> dict[int, tuple[str, str]]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
    return {version: (name, checksum) for version, name, checksum in rows}


def verify_history(applied: dict[int, tuple[str, str]], migrations: list[Migration]) -> None:
    """Refuse a database whose applied migrations were edited, or that is ahead of this code."""
    known = {m.version: m for m in migrations}
    for version, (name, checksum) in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"database has migration {version:04d}_{name} which this code does not know; "
                "is an older release running against a newer schema?"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{name}.sql has changed since it was applied "
                f"(recorded {checksum[:12]}, file {migration.checksum[:12]}); write a new migration instead"
            )


def status(database_url: str, migrations: Sequence[Migration] | None = None) -> list[MigrationState]:
    """Each known migration and whether it is applied; raises if the history does not match.

    ``migrations`` defaults to the files shipped with the code (tests pass their own).
    """
    migrations = load_migrations() if migrations is None else _in_order(migrations)
    with psycopg.connect(database_url, autocommit=True) as conn:
        applied = _applied(conn)
    verify_history(applied, migrations)
    return [MigrationState(m, m.version in applied) for m in migrations]


def migrate(
    database_url: str,
    *,
    dry_run: bool = False,
    migrations: Sequence[Migration] | None = None,
    phase: str | None = None,
) -> list[Migration]:
    """Apply every pending migration, each in its own transaction; return those applied (or pending).

    ``phase="expand"`` applies only the pending expand steps (before the new release's pods start);
    ``phase="contract"`` (after every pod runs the new release) or None applies everything pending.
    A dry run changes nothing, not even the history table, so it works with read-only credentials.
    ``migrations`` defaults to the files shipped with the code (tests pass their own).
    """
    if phase is not None and phase not in PHASES:
        raise MigrationError(f"unknown phase {phase!r}; use one of {PHASES}")
    migrations = load_migrations() if migrations is None else _in_order(migrations)
    with psycopg.connect(database_url, autocommit=True, application_name="docket-migrate") as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            if not dry_run:
                conn.execute(CREATE_HISTORY)
            applied = _applied(conn)
            verify_history(applied, migrations)
            pending = [
                m for m in migrations if m.version not in applied and (phase != EXPAND or m.phase == EXPAND)
            ]
            if dry_run:
                return pending
            for migration in pending:
                try:
                    with conn.transaction():
                        conn.execute(migration.sql)  # type: ignore[arg-type]  # trusted files shipped with the code
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                            (migration.version, migration.name, migration.checksum),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name}.sql failed and was rolled back "
                        f"({type(exc).__name__}: {exc}); nothing after it was applied"
                    ) from exc
            return pending
        finally:
            # if the connection died, the server already dropped the lock; keep the original error
            with contextlib.suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def latest_version() -> int:
    """The newest migration the code ships."""
    migrations = load_migrations()
    return migrations[-1].version if migrations else 0


def required_version() -> int:
    """The version the code needs the database to be at: its newest expand step. Contract steps only
    drop what the code no longer reads, so pods are ready before the post-upgrade hook runs them."""
    expands = [m.version for m in load_migrations() if m.phase == EXPAND]
    return expands[-1] if expands else 0


async def schema_version(conn: psycopg.AsyncConnection) -> int:
    """The highest applied migration, or 0 for an empty database."""
    cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
    row = await cur.fetchone()
    if not row or not _first(row):
        return 0
    cur = await conn.execute("SELECT coalesce(max(version), 0) AS version FROM schema_migrations")
    row = await cur.fetchone()
    return int(str(_first(row))) if row else 0


def _first(row: object) -> object:
    if isinstance(row, dict):
        return next(iter(row.values()))
    return row[0]  # type: ignore[index]
