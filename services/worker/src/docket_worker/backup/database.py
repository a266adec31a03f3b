"""What the backup commands ask PostgreSQL: a lock, a snapshot, sizes, row counts, scratch databases."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from docket_worker.backup.errors import BackupError
from docket_worker.backup.pgtools import APPLICATION_NAME, describe_database

# Fits in 32 bits so pg_locks shows it as objid. Distinct from the migration lock ("docket").
LOCK_KEY = 0x646B6270  # "dkbp"
_LOCK_POLL_SECONDS = 0.25
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


@dataclass(frozen=True)
class Snapshot:
    """An exported snapshot and what the database held in it."""

    snapshot_id: str
    database: str
    server_version: str
    database_size_bytes: int
    schema_version: int
    row_counts: dict[str, int]


def connect(url: str, **kwargs: object) -> psycopg.Connection:
    """A connection named for pg_stat_activity, with a clear error if the server is unreachable."""
    try:
        return psycopg.connect(url, application_name=APPLICATION_NAME, connect_timeout=10, **kwargs)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise BackupError(f"cannot connect to {describe_database(url)}: {reason}") from None


@contextmanager
def backup_lock(url: str, wait_seconds: float) -> Iterator[bool]:
    """Hold the backup advisory lock while the block runs; yields False if it stayed taken for the wait."""
    with connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + wait_seconds
        while not _try_lock(conn):
            if time.monotonic() >= deadline:
                yield False
                return
            time.sleep(_LOCK_POLL_SECONDS)
        try:
            yield True
        finally:
            # Closing the session releases the lock anyway; an unlock error must not hide the real one.
            with contextlib.suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def _try_lock(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
    return bool(row and row[0])


def lock_holder(url: str) -> str:
    """Who holds the backup lock, for the message of the run that could not take it."""
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            """
            SELECT a.pid, a.application_name, a.client_addr, a.backend_start
            FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted AND l.database = (
                SELECT oid FROM pg_database WHERE datname = current_database())
            """,
            (LOCK_KEY,),
        ).fetchone()
    if not row:
        return "another session"
    pid, app, addr, since = row
    started = f"{since:%Y-%m-%d %H:%M:%S %Z}"
    return f"backend pid {pid} ({app or 'unnamed'} from {addr or 'local socket'}, connected {started})"


@contextmanager
def exported_snapshot(url: str) -> Iterator[Snapshot]:
    """Export a snapshot and read the database's facts in it; pg_dump imports it while the block runs.

    So the row counts in the manifest are exactly those in the dump, even while Docket keeps writing.
    """
    with connect(url) as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute("SET idle_in_transaction_session_timeout = 0")
        conn.commit()
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert row is not None
            facts = conn.execute(
                "SELECT current_database(), current_setting('server_version'), "
                "pg_database_size(current_database())"
            ).fetchone()
            assert facts is not None
            yield Snapshot(
                snapshot_id=str(row[0]),
                database=str(facts[0]),
                server_version=str(facts[1]),
                database_size_bytes=int(facts[2]),
                schema_version=schema_version(conn),
                row_counts=row_counts(conn),
            )


def schema_version(conn: psycopg.Connection) -> int:
    """The highest applied Docket migration, or 0 if the database has none."""
    present = conn.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL").fetchone()
    if not present or not present[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM public.schema_migrations").fetchone()
    return int(row[0]) if row else 0


def row_counts(conn: psycopg.Connection) -> dict[str, int]:
    """Rows in every user table, keyed ``table`` (public schema) or ``schema.table``."""
    tables = conn.execute(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname <> ALL(%s) ORDER BY 1, 2",
        (list(_SYSTEM_SCHEMAS),),
    ).fetchall()
    counts = {}
    for schema, table in tables:
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        row = conn.execute(query).fetchone()
        key = table if schema == "public" else f"{schema}.{table}"
        counts[str(key)] = int(row[0]) if row else 0
    return counts


def counts_at(url: str) -> tuple[int, dict[str, int]]:
    """The schema version and row counts of a database now."""
    with connect(url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        return schema_version(conn), row_counts(conn)


def user_relations(url: str) -> int:
    """How many tables, views and sequences the database holds outside the system schemas."""
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            """
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND n.nspname <> ALL(%s)
              AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
            """,
            (list(_SYSTEM_SCHEMAS),),
        ).fetchone()
    return int(row[0]) if row else 0


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new empty database on the same server as ``url``, dropped when the block ends."""
    name = f"docket_verify_{uuid.uuid4().hex[:12]}"
    with connect(url, autocommit=True) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise BackupError(
                f"cannot create a scratch database for the restore test: {exc}".strip()
                + " (the role needs CREATEDB)"
            ) from None
    try:
        yield psycopg.conninfo.make_conninfo(url, dbname=name)
    finally:
        with connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
