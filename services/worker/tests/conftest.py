"""Fixtures for the backup tests: the real `docket-worker` CLI, seeded databases, and their facts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from embedded_services import free_port
from psycopg import sql

from docket_core.tables.blobs import CHUNK_BYTES

MakeDatabase = Callable[[bool], str]
_OUR_VARIABLES = ("DATABASE_URL", "ENVIRONMENT", "PUSHGATEWAY_URL", "PG_DUMP", "PG_RESTORE")


@dataclass(frozen=True)
class Seeded:
    """A migrated database with users, documents and their blobs, jobs; and each blob's SHA-256."""

    url: str
    blob_sha256: dict[str, str]


class BackupKit:
    """Runs `docket-worker` as a real process and reads facts from real databases."""

    script = os.path.join(os.path.dirname(sys.executable), "docket-worker")

    def env(self, database_url: str, backup_dir: Path, **extra: str) -> dict[str, str]:
        """The process environment: ours, minus anything that would leak in from the caller's."""
        base = {
            k: v
            for k, v in os.environ.items()
            if k not in _OUR_VARIABLES and not k.startswith(("BACKUP_", "AWS_"))
        }
        return {**base, "DATABASE_URL": database_url, "BACKUP_DIR": str(backup_dir), **extra}

    def run(
        self, *args: str, env: Mapping[str, str], timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI to completion with no terminal on stdin."""
        return subprocess.run(
            [self.script, *args],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
        """Start the CLI in the background, its output going to ``log``."""
        with open(log, "wb") as out:
            return subprocess.Popen(
                [self.script, *args], env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )

    def seed(self, url: str, blob_sizes: list[int]) -> Seeded:
        """Insert users, refresh tokens, one document per blob (random bytes, 256 KiB chunks) and jobs."""
        sums: dict[str, str] = {}
        with psycopg.connect(url) as conn:
            owners = [
                conn.execute(
                    "INSERT INTO users (email, password_hash) VALUES (%s, 'argon2-hash') RETURNING id",
                    (f"user{i}@example.com",),
                ).fetchone()[0]  # type: ignore[index]
                for i in range(3)
            ]
            for owner in owners:
                conn.execute(
                    "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) "
                    "VALUES (%s, gen_random_uuid(), %s, now() + interval '1 day')",
                    (owner, os.urandom(32)),
                )
            for i, size in enumerate(blob_sizes):
                owner = owners[i % len(owners)]
                data = os.urandom(size)
                blob_id = uuid.uuid4()
                sums[str(blob_id)] = hashlib.sha256(data).hexdigest()
                conn.execute("INSERT INTO document_blobs (id, size_bytes) VALUES (%s, %s)", (blob_id, size))
                with conn.cursor().copy("COPY document_blob_chunks (blob_id, seq, data) FROM STDIN") as copy:
                    for seq, start in enumerate(range(0, size, CHUNK_BYTES)):
                        copy.write_row((blob_id, seq, data[start : start + CHUNK_BYTES]))
                conn.execute(
                    "INSERT INTO documents (workspace_id, owner_id, blob_id, filename, title, content_type, "
                    "size_bytes, sha256, status, extracted_text, search) "
                    "VALUES (docket_personal_workspace(%s), %s, %s, %s, %s, 'application/pdf', "
                    "%s, %s, 'ready', %s, to_tsvector('english', %s))",
                    (
                        owner, owner, blob_id, f"report-{i}.pdf", f"Report {i}", size,
                        bytes.fromhex(sums[str(blob_id)]), f"quarterly report {i}", f"quarterly report {i}",
                    ),
                )  # fmt: skip
            for i in range(5):
                conn.execute(
                    "INSERT INTO jobs (kind, payload, status) VALUES ('extract', %s, %s)",
                    (json.dumps({"document": i}), "succeeded" if i % 2 else "queued"),
                )
        return Seeded(url, sums)

    def counts(self, url: str) -> dict[str, int]:
        """Rows in every table of the public schema."""
        with psycopg.connect(url) as conn:
            tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
            return {
                str(t): int(
                    conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
                )  # type: ignore[index]
                for (t,) in tables
            }

    def blob_sha256(self, url: str) -> dict[str, str]:
        """Each blob's SHA-256 over its chunks in order."""
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT b.id::text, encode(sha256(coalesce(string_agg(c.data, ''::bytea ORDER BY c.seq), "
                "''::bytea)), 'hex') FROM document_blobs b LEFT JOIN document_blob_chunks c "
                "ON c.blob_id = b.id GROUP BY b.id"
            ).fetchall()
        return {str(blob): str(digest) for blob, digest in rows}

    def relations(self, url: str) -> int:
        """Tables in the public schema: 0 for an empty database."""
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        return int(row[0]) if row else 0

    def wait_for_partial_dump(
        self, folder: Path, process: subprocess.Popen[bytes], min_bytes: int, log: Path
    ) -> Path:
        """Wait until a run's temporary dump file holds ``min_bytes``; fail if the run ends first."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for path in folder.glob(".docket-*.dump.partial"):
                try:
                    if path.stat().st_size >= min_bytes:
                        return path
                except FileNotFoundError:
                    continue
            assert process.poll() is None, f"the run ended before we saw its dump: {log.read_text()}"
            time.sleep(0.01)
        raise AssertionError("no temporary dump file appeared within 60 s")


@pytest.fixture(scope="session")
def kit() -> BackupKit:
    return BackupKit()


@pytest.fixture(scope="module")
def seeded(make_database: MakeDatabase, kit: BackupKit) -> Seeded:
    """A database with 24 MiB of document blobs: big enough that a dump takes a couple of seconds."""
    return kit.seed(make_database(True), [4 * 1024 * 1024] * 6)


@pytest.fixture
def small(make_database: MakeDatabase, kit: BackupKit) -> Seeded:
    """A fresh database with two small documents, for tests that need a real but quick dump."""
    return kit.seed(make_database(True), [300 * 1024, 10])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-protocol server on loopback: a stand-in for AWS S3 or MinIO, not AWS itself."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Any:
    """A new, empty bucket on the S3 server, and a client for it."""
    from minio import Minio

    client = Minio(
        s3_endpoint.removeprefix("http://"), access_key="test", secret_key="test", secure=False,
        region="us-east-1",
    )  # fmt: skip
    name = f"docket-backups-{uuid.uuid4().hex[:8]}"
    client.make_bucket(name)
    return client, name
