"""SQL for documents: owner-scoped reads, keyset pages, inserts and deletes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from psycopg import AsyncConnection

from docket_api.domain.documents.schemas import PREVIEW_CHARS

Row = dict[str, Any]
COLUMNS = (
    "id, filename, title, content_type, size_bytes, sha256, status, failure_reason, page_count, "
    "word_count, created_at, updated_at"
)


async def id_by_hash(conn: AsyncConnection[Any], owner_id: str, sha256: bytes) -> uuid.UUID | None:
    cur = await conn.execute(
        "SELECT id FROM documents WHERE owner_id = %s AND sha256 = %s", (owner_id, sha256)
    )
    row = await cur.fetchone()
    return row["id"] if row else None  # type: ignore[call-overload,no-any-return]


async def insert(
    conn: AsyncConnection[Any],
    *,
    owner_id: str,
    blob_id: uuid.UUID,
    filename: str,
    title: str,
    content_type: str,
    size_bytes: int,
    sha256: bytes,
) -> Row:
    cur = await conn.execute(
        "INSERT INTO documents (owner_id, blob_id, filename, title, content_type, size_bytes, sha256) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
        (owner_id, blob_id, filename, title, content_type, size_bytes, sha256),
    )
    row = await cur.fetchone()
    assert row is not None
    return row  # type: ignore[no-any-return]


async def get(conn: AsyncConnection[Any], owner_id: str, document_id: uuid.UUID) -> Row | None:
    cur = await conn.execute(
        f"SELECT {COLUMNS}, blob_id, left(extracted_text, %s) AS preview "
        "FROM documents WHERE id = %s AND owner_id = %s",
        (PREVIEW_CHARS, document_id, owner_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def page(
    conn: AsyncConnection[Any],
    owner_id: str,
    *,
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
    status: str | None,
    title_prefix: str | None,
) -> list[Row]:
    """Newest first; ``after`` is the (created_at, id) of the last row of the previous page."""
    clauses = ["owner_id = %s"]
    params: list[Any] = [owner_id]
    if after is not None:
        clauses.append("(created_at, id) < (%s, %s)")
        params.extend(after)
    if status is not None:
        clauses.append("status = %s")
        params.append(status)
    if title_prefix:
        clauses.append("lower(title) LIKE %s")
        params.append(_escape_like(title_prefix.lower()) + "%")
    params.append(limit)
    cur = await conn.execute(
        f"SELECT {COLUMNS} FROM documents WHERE {' AND '.join(clauses)} "
        "ORDER BY created_at DESC, id DESC LIMIT %s",
        params,
    )
    return await cur.fetchall()  # type: ignore[return-value]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def delete(conn: AsyncConnection[Any], owner_id: str, document_id: uuid.UUID) -> uuid.UUID | None:
    """Delete the row; returns its blob id so the caller can schedule the purge."""
    cur = await conn.execute(
        "DELETE FROM documents WHERE id = %s AND owner_id = %s RETURNING blob_id", (document_id, owner_id)
    )
    row = await cur.fetchone()
    return row["blob_id"] if row else None  # type: ignore[call-overload,no-any-return]


async def mark_pending(conn: AsyncConnection[Any], owner_id: str, document_id: uuid.UUID) -> Row | None:
    cur = await conn.execute(
        "UPDATE documents SET status = 'pending', failure_reason = NULL, updated_at = now() "
        f"WHERE id = %s AND owner_id = %s RETURNING {COLUMNS}",
        (document_id, owner_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def status_of(conn: AsyncConnection[Any], owner_id: str, document_id: uuid.UUID) -> Row | None:
    cur = await conn.execute(
        "SELECT id, status, failure_reason FROM documents WHERE id = %s AND owner_id = %s",
        (document_id, owner_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]
