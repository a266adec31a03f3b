"""Seed the database directly with SQL: users, documents with their blobs, and search vectors."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import psycopg

from bench import words

PASSWORD = "bench-password-not-secret"  # noqa: S105 (a throwaway account on a throwaway database)
# Filled exactly as the worker fills it (handlers/process_document.py).
SEARCH_VECTOR = (
    "setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', extracted_text), 'B')"
)


@dataclass(frozen=True)
class User:
    id: str
    email: str


@dataclass(frozen=True)
class Corpus:
    users: list[User]
    documents: int


def create_users(conn: psycopg.Connection, count: int, prefix: str) -> list[User]:
    """``count`` users sharing one real argon2id hash of :data:`PASSWORD` (hashed once: it is slow)."""
    from argon2 import PasswordHasher

    password_hash = PasswordHasher().hash(PASSWORD)
    users = [User(str(uuid.uuid4()), f"{prefix}-{n:03d}@bench.example") for n in range(count)]
    with conn.cursor().copy("COPY users (id, email, password_hash) FROM STDIN") as copy:
        for user in users:
            copy.write_row((user.id, user.email, password_hash))
    conn.execute(
        "SELECT docket_personal_workspace(id) FROM users WHERE id = ANY(%s)", ([u.id for u in users],)
    )
    return users


def insert_documents(
    conn: psycopg.Connection,
    owner_id: str,
    texts: Sequence[str],
    *,
    ready: bool,
    newest: dt.datetime | None = None,
) -> list[str]:
    """Documents (text/plain) with their one-chunk blobs; ready ones get text and search vector too."""
    newest = newest or dt.datetime.now(dt.UTC)
    ids: list[str] = []
    rows = []
    for n, body in enumerate(texts):
        data = body.encode()
        doc_id, blob_id = str(uuid.uuid4()), str(uuid.uuid4())
        title = " ".join(body.split()[:6]).rstrip(".")
        created = newest - dt.timedelta(seconds=n * 37)
        ids.append(doc_id)
        rows.append((doc_id, blob_id, title, data, created))
    cur = conn.cursor()
    with cur.copy("COPY document_blobs (id, size_bytes) FROM STDIN") as copy:
        for _, blob_id, _, data, _ in rows:
            copy.write_row((blob_id, len(data)))
    with cur.copy("COPY document_blob_chunks (blob_id, seq, data) FROM STDIN") as copy:
        for _, blob_id, _, data, _ in rows:
            copy.write_row((blob_id, 0, data))
    found = conn.execute("SELECT docket_personal_workspace(%s)", (owner_id,)).fetchone()
    assert found is not None
    workspace_id = found[0]
    columns = (
        "id, workspace_id, owner_id, blob_id, filename, title, content_type, size_bytes, sha256, status, "
        "extracted_text, word_count, created_at, updated_at"
    )
    with cur.copy(f"COPY documents ({columns}) FROM STDIN") as copy:
        for doc_id, blob_id, title, data, created in rows:
            text = data.decode()
            copy.write_row(
                (
                    doc_id,
                    workspace_id,
                    owner_id,
                    blob_id,
                    title.lower().replace(" ", "-")[:60] + ".txt",
                    title,
                    "text/plain",
                    len(data),
                    hashlib.sha256(data).digest(),
                    "ready" if ready else "pending",
                    text if ready else None,
                    len(text.split()) if ready else None,
                    created,
                    created,
                )
            )
    if ready:
        cur.execute(f"UPDATE documents SET search = {SEARCH_VECTOR} WHERE id = ANY(%s)", (ids,))  # noqa: S608
    return ids


def seed_corpus(url: str, users: int, docs_per_user: int, text_bytes: int, seed: int = 42) -> Corpus:
    """``users`` users with ``docs_per_user`` ready documents of about ``text_bytes`` bytes each."""
    rng = random.Random(seed)
    with psycopg.connect(url) as conn:
        created = create_users(conn, users, "reader")
        for user in created:
            texts = [words.text(rng, text_bytes) for _ in range(docs_per_user)]
            insert_documents(conn, user.id, texts, ready=True)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return Corpus(created, users * docs_per_user)


def login(api_url: str, email: str) -> str:
    """An access token for ``email`` from the real login endpoint."""
    response = httpx.post(
        f"{api_url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def delete_owner_documents(url: str, owner_id: str) -> None:
    """Remove a user's documents, their blobs and their queued jobs (between rounds)."""
    with psycopg.connect(url) as conn:
        blob_ids = [
            row[0]
            for row in conn.execute(
                "DELETE FROM documents WHERE owner_id = %s RETURNING blob_id", (owner_id,)
            )
        ]
        conn.execute("DELETE FROM document_blobs WHERE id = ANY(%s)", (blob_ids,))
        conn.execute(
            "DELETE FROM jobs WHERE status = 'queued' AND NOT EXISTS "
            "(SELECT 1 FROM documents d WHERE d.id::text = jobs.payload->>'document_id')"
        )
