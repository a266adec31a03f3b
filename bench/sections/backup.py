"""6. Backup: `docket-worker backup run` vs plain `pg_dump -Fc`, on the seeded database plus blobs."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench import words
from bench.context import Context
from bench.report import Section
from bench.stack import BIN
from bench.stats import alternate, median, ratio

CHUNK = 256 * 1024  # PostgresBlobStore.chunk_bytes
BLOB_CHUNKS = 4


def add_blobs(url: str, megabytes: int) -> None:
    """``megabytes`` of blobs in 1 MiB blobs: half random bytes (like PDFs), half text (compressible)."""
    text = words.text(random.Random(3), CHUNK).encode()
    blobs = max(megabytes * 1024 * 1024 // (CHUNK * BLOB_CHUNKS), 1)
    with psycopg.connect(url) as conn:
        ids = [str(uuid.uuid4()) for _ in range(blobs)]
        with conn.cursor().copy("COPY document_blobs (id, size_bytes) FROM STDIN") as copy:
            for blob_id in ids:
                copy.write_row((blob_id, CHUNK * BLOB_CHUNKS))
        with conn.cursor().copy("COPY document_blob_chunks (blob_id, seq, data) FROM STDIN") as copy:
            for n, blob_id in enumerate(ids):
                for seq in range(BLOB_CHUNKS):
                    copy.write_row(
                        (blob_id, seq, os.urandom(CHUNK) if n % 2 else text[: CHUNK - seq] + b"x" * seq)
                    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE document_blobs, document_blob_chunks")


def _timed(command: list[str], env: dict[str, str], output: Path) -> dict[str, Any]:
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr[-2000:]}")
    size = (
        sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
        if output.is_dir()
        else output.stat().st_size
    )
    return {"seconds": seconds, "bytes": size}


def run(ctx: Context) -> Section:
    section = Section("backup")
    opts, stack = ctx.options, ctx.stack
    assert stack.pg is not None
    pg_bin = stack.pg.bin
    add_blobs(stack.database_url, opts.backup_mb)
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    database_bytes = int(row[0]) if row else 0
    scratch = stack.workdir / "backups"
    env = stack.env()

    def docket() -> dict[str, Any]:
        target = scratch / f"docket-{uuid.uuid4().hex[:6]}"
        target.mkdir(parents=True)
        try:
            return _timed(
                [str(BIN / "docket-worker"), "backup", "run"], {**env, "BACKUP_DIR": str(target)}, target
            )
        finally:
            shutil.rmtree(target, ignore_errors=True)

    def pg_dump() -> dict[str, Any]:
        scratch.mkdir(parents=True, exist_ok=True)
        target = scratch / f"pg_dump-{uuid.uuid4().hex[:6]}.dump"
        try:
            command = [str(pg_bin / "pg_dump"), "-Fc", "-f", str(target), f"--dbname={stack.database_url}"]
            return _timed(command, env, target)
        finally:
            target.unlink(missing_ok=True)

    results = alternate({"docket": docket, "pg_dump": pg_dump}, opts.rounds)
    ours, plain = (
        median([r["seconds"] for r in results["docket"]]),
        median([r["seconds"] for r in results["pg_dump"]]),
    )
    section.data = {"blob_mb": opts.backup_mb, "database_bytes": database_bytes, **results}
    section.add(
        "database size", database_bytes / 1024 / 1024, "MB", note=f"{opts.backup_mb} MB of blobs added"
    )
    section.add("docket backup run", ours, "s", note=f"median of {opts.rounds}")
    section.add("pg_dump -Fc", plain, "s")
    section.add("dump size", median([r["bytes"] for r in results["pg_dump"]]) / 1024 / 1024, "MB")
    section.check("docket / pg_dump", ratio(ours, plain), "x", 1.10, at_most=True)
    return section
