"""The stack a team would otherwise write: Litestar, msgspec and a psycopg pool, and nothing else.

It runs Docket's exact list query (same SQL, same row factory, same response shape and cursor) for an
owner given in the query string: no authentication, rate limiter, security headers, metrics, tracing
or logging. The gap between it and Docket is what those cost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Litestar, get
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

# The page of every workspace the user is a member of, each row with its sorted tag names: what a
# hand-written app would send as one statement.
LIST_SQL = (
    "SELECT d.id, d.workspace_id, d.filename, d.title, d.content_type, d.size_bytes, d.sha256, d.status, "
    "d.failure_reason, d.page_count, d.word_count, d.created_at, d.updated_at, d.text_encoding, "
    "d.processing_notice, d.thumbnail_etag, "
    "ARRAY(SELECT t.name FROM document_tags dt JOIN tags t ON t.id = dt.tag_id "
    "WHERE dt.document_id = d.id ORDER BY lower(t.name)) AS tags FROM documents d "
    "WHERE d.workspace_id IN (SELECT workspace_id FROM memberships WHERE user_id = %s) "
    "ORDER BY d.created_at DESC, d.id DESC LIMIT %s"
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


class DocumentOut(msgspec.Struct):
    id: str
    workspace_id: str
    filename: str
    title: str
    content_type: str
    size_bytes: int
    sha256: str
    status: str
    failure_reason: str | None
    page_count: int | None
    word_count: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    tags: list[str]
    text_encoding: str | None
    processing_notice: str | None
    thumbnail_etag: str | None


class DocumentPage(msgspec.Struct):
    items: list[DocumentOut]
    next_cursor: str | None


def _cursor(row: dict[str, Any]) -> str:
    return f"{(row['created_at'] - _EPOCH) // _MICROSECOND}.{row['id'].hex}"


def _out(row: dict[str, Any]) -> DocumentOut:
    return DocumentOut(
        id=str(row["id"]),
        workspace_id=str(row["workspace_id"]),
        filename=row["filename"],
        title=row["title"],
        content_type=row["content_type"],
        size_bytes=row["size_bytes"],
        sha256=bytes(row["sha256"]).hex(),
        status=row["status"],
        failure_reason=row["failure_reason"],
        page_count=row["page_count"],
        word_count=row["word_count"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        tags=row["tags"],
        text_encoding=row["text_encoding"],
        processing_notice=row["processing_notice"],
        thumbnail_etag=row["thumbnail_etag"],
    )


def create_app() -> Litestar:
    """The reference app; the pool is sized like Docket's (DB_POOL_MIN_SIZE/DB_POOL_MAX_SIZE)."""
    pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        os.environ["DATABASE_URL"],
        min_size=int(os.environ.get("DB_POOL_MIN_SIZE", "2")),
        max_size=int(os.environ.get("DB_POOL_MAX_SIZE", "10")),
        open=False,
        kwargs={"row_factory": dict_row},
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await pool.open(wait=True)
        try:
            yield
        finally:
            await pool.close()

    @get("/documents")
    async def list_documents(owner: uuid.UUID, limit: int = 20) -> DocumentPage:
        async with pool.connection() as conn:
            cur = await conn.execute(LIST_SQL, (str(owner), limit + 1))
            rows: list[dict[str, Any]] = await cur.fetchall()
        last = rows[limit - 1] if len(rows) > limit else None
        return DocumentPage([_out(row) for row in rows[:limit]], _cursor(last) if last else None)

    @get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([list_documents, healthz], lifespan=[lifespan], openapi_config=None, logging_config=None)
