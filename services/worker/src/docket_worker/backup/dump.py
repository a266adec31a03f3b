"""Stream ``pg_dump -Fc`` of an exported snapshot into a file, hashing it and reporting progress."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from docket_worker.backup.errors import BackupError
from docket_worker.backup.pgtools import libpq_target, reaped
from docket_worker.backup.progress import Progress
from docket_worker.backup.units import format_bytes

_READ_BYTES = 1 << 20
# Fail rather than queue behind a migration's ACCESS EXCLUSIVE lock for ever.
LOCK_WAIT_TIMEOUT = "300s"


@dataclass(frozen=True)
class Dump:
    """A finished, fsynced dump file."""

    path: Path
    size_bytes: int
    sha256: str


def dump_database(pg_dump: str, url: str, snapshot_id: str, out_path: Path, progress: Progress) -> Dump:
    """Write the dump to ``out_path`` (which must not exist) and fsync it; raise if pg_dump fails.

    pg_dump writes to a pipe we read: if this process dies, pg_dump gets EPIPE and stops too.
    """
    conninfo, env = libpq_target(url)
    command = [
        pg_dump, "--format=custom", f"--snapshot={snapshot_id}", f"--lock-wait-timeout={LOCK_WAIT_TIMEOUT}",
        "--no-password", f"--dbname={conninfo}",
    ]  # fmt: skip
    digest = hashlib.sha256()
    size = 0
    with tempfile.TemporaryFile() as errors, open(out_path, "xb") as out:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env)
        assert process.stdout is not None
        with reaped(process, process.stdout):
            while chunk := process.stdout.read(_READ_BYTES):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                progress.update(f"{format_bytes(size)} written", bytes_written=size)
            code = process.wait()
        if code != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip() or "no message"
            raise BackupError(f"pg_dump failed (exit {code}): {message}")
        out.flush()
        os.fsync(out.fileno())
    progress.finish(f"{format_bytes(size)} written")
    return Dump(out_path, size, digest.hexdigest())


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while chunk := src.read(_READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
