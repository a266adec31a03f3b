"""Run pg_restore: list a dump's contents, or load it into a database in one transaction."""

from __future__ import annotations

import subprocess
from pathlib import Path

from docket_worker.backup.errors import BackupError
from docket_worker.backup.pgtools import libpq_target, reaped
from docket_worker.backup.progress import Progress

_TAIL_LINES = 12


def list_contents(pg_restore: str, dump: Path) -> list[str]:
    """The dump's table of contents, one entry a line; raises if pg_restore cannot read it."""
    result = subprocess.run(
        [pg_restore, "--list", str(dump)], capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore --list cannot read the dump: {result.stderr.strip() or 'no message'}")
    return [line for line in result.stdout.splitlines() if line and not line.startswith(";")]


def tables_with_data(contents: list[str]) -> set[str]:
    """Tables whose rows the dump holds, keyed like the manifest's row counts."""
    found = set()
    for line in contents:
        # "216; 0 16390 TABLE DATA public users postgres"
        _, _, entry = line.partition("TABLE DATA ")
        if entry:
            schema, table = entry.split()[:2]
            found.add(table if schema == "public" else f"{schema}.{table}")
    return found


def load(pg_restore: str, dump: Path, url: str, *, clean: bool, progress: Progress) -> None:
    """Restore ``dump`` into ``url`` all or nothing, reporting each object as pg_restore reaches it."""
    conninfo, env = libpq_target(url)
    command = [
        pg_restore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-acl", "--verbose",
        "--no-password", f"--dbname={conninfo}",
    ]  # fmt: skip
    if clean:
        command += ["--clean", "--if-exists"]
    tail: list[str] = []
    process = subprocess.Popen(
        [*command, str(dump)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stderr is not None
    with reaped(process, process.stderr):
        for raw in process.stderr:
            line = raw.rstrip()
            tail = [*tail[-_TAIL_LINES + 1 :], line]
            if "processing data for table" in line:
                progress.update(line.removeprefix("pg_restore: "))
        code = process.wait()
    if code != 0:
        errors = [line for line in tail if "error" in line.lower()] or tail
        raise BackupError(f"pg_restore failed (exit {code}); nothing was restored: " + " / ".join(errors))
    progress.finish("done")
