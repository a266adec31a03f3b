"""Documents: upload in one transaction, owner-scoped reads, deletes and reprocessing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg_pool import AsyncConnectionPool

from docket_api.domain.documents.cursor import decode_cursor, encode_cursor
from docket_api.domain.documents.filenames import title_from_filename
from docket_api.domain.documents.schemas import (
    PREVIEW_CHARS,
    DocumentDetail,
    DocumentOut,
    DocumentPage,
    document_detail,
    document_out,
)
from docket_api.domain.documents.upload import check_declared_length, store_upload
from docket_core.contracts import ProcessDocument, PurgeDocument, StatusEvent
from docket_core.http.problems import Problem
from docket_core.tables import documents as repo
from docket_core.tables.blobs import BlobStore
from docket_core.tables.jobs import enqueue


def not_found() -> Problem:
    # Another user's document is indistinguishable from one that does not exist.
    return Problem(404, "No such document.", slug="document-not-found")


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    size: int
    etag: str
    blob_id: uuid.UUID


class DocumentService:
    def __init__(
        self, pool: AsyncConnectionPool[AsyncConnection[Any]], blobs: BlobStore, max_upload_bytes: int
    ) -> None:
        self.pool = pool
        self.blobs = blobs
        self.max_upload_bytes = max_upload_bytes

    async def upload(
        self, owner_id: str, content_type: str | None, content_length: str | None, body: AsyncIterator[bytes]
    ) -> DocumentOut:
        """Store the file, its row and its processing job together, or nothing at all."""
        check_declared_length(content_length, self.max_upload_bytes)  # before a connection is taken
        duplicate: uuid.UUID | None = None
        async with self.pool.connection() as conn:
            try:
                async with conn.transaction():
                    stored = await store_upload(conn, self.blobs, content_type, body, self.max_upload_bytes)
                    duplicate = await repo.id_by_hash(conn, owner_id, stored.sha256)
                    if duplicate is None:
                        row = await repo.insert(
                            conn,
                            owner_id=owner_id,
                            blob_id=stored.blob_id,
                            filename=stored.filename,
                            title=title_from_filename(stored.filename),
                            content_type=stored.content_type,
                            size_bytes=stored.size,
                            sha256=stored.sha256,
                        )
                        await enqueue(conn, ProcessDocument(document_id=row["id"]))
                        return document_out(row)
                    raise _DuplicateError(duplicate)
            except UniqueViolation:  # a concurrent upload of the same bytes won the race
                duplicate = await repo.id_by_hash(conn, owner_id, stored.sha256)
            except _DuplicateError as dup:
                duplicate = dup.existing
        raise Problem(
            409,
            "You already uploaded this file.",
            slug="duplicate-document",
            existing_id=str(duplicate),
            headers={"Location": f"/api/v1/documents/{duplicate}"},
        )

    async def page(
        self, owner_id: str, limit: int, cursor: str | None, status: str | None, title_prefix: str | None
    ) -> DocumentPage:
        after = decode_cursor(cursor) if cursor else None
        async with self.pool.connection() as conn:
            rows = await repo.page(
                conn, owner_id, limit=limit + 1, after=after, status=status, title_prefix=title_prefix
            )
        items = [document_out(row) for row in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return DocumentPage(items, encode_cursor(last["created_at"], last["id"]) if last else None)

    async def get(self, owner_id: str, document_id: uuid.UUID) -> DocumentDetail:
        async with self.pool.connection() as conn:
            row = await repo.get(conn, owner_id, document_id, preview_chars=PREVIEW_CHARS)
        if row is None:
            raise not_found()
        return document_detail(row)

    async def download(self, owner_id: str, document_id: uuid.UUID) -> Download:
        async with self.pool.connection() as conn:
            row = await repo.get(conn, owner_id, document_id, preview_chars=0)
        if row is None:
            raise not_found()
        return Download(
            filename=row["filename"],
            content_type=row["content_type"],
            size=row["size_bytes"],
            etag=f'"{bytes(row["sha256"]).hex()}"',
            blob_id=row["blob_id"],
        )

    async def stream(self, blob_id: uuid.UUID, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive; a pooled connection is held per chunk, not per download."""
        size = self.blobs.chunk_bytes
        for seq in range(start // size, end // size + 1):
            async with self.pool.connection() as conn:
                data = await self.blobs.read_chunk(conn, blob_id, seq)
            if data is None:
                return  # purged after the request began; the client sees a short body
            offset = seq * size
            yield data[max(start - offset, 0) : min(end - offset + 1, len(data))]

    async def delete(self, owner_id: str, document_id: uuid.UUID) -> None:
        """The row goes now; a job purges the bytes."""
        async with self.pool.connection() as conn, conn.transaction():
            blob_id = await repo.delete(conn, owner_id, document_id)
            if blob_id is None:
                raise not_found()
            await enqueue(conn, PurgeDocument(blob_id=blob_id, document_id=document_id))

    async def reprocess(self, owner_id: str, document_id: uuid.UUID) -> DocumentOut:
        async with self.pool.connection() as conn, conn.transaction():
            row = await repo.mark_pending(conn, owner_id, document_id)
            if row is None:
                raise not_found()
            await enqueue(conn, ProcessDocument(document_id=document_id))
        return document_out(row)

    async def status(self, owner_id: str, document_id: uuid.UUID) -> StatusEvent:
        async with self.pool.connection() as conn:
            row = await repo.status_of(conn, owner_id, document_id)
        if row is None:
            raise not_found()
        return StatusEvent(row["id"], row["status"], row["failure_reason"])


class _DuplicateError(Exception):
    def __init__(self, existing: uuid.UUID) -> None:
        self.existing = existing
