"""Documents: uploads received without holding anything shared and stored in one short transaction,
owner-scoped reads, deletes and reprocessing."""

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
from docket_api.domain.documents.quotas import Quotas
from docket_api.domain.documents.schemas import (
    PREVIEW_CHARS,
    DocumentDetail,
    DocumentOut,
    DocumentPage,
    document_detail,
    document_out,
)
from docket_api.domain.documents.spool import Spool, SpoolBudget
from docket_api.domain.documents.upload import (
    ReceivedFile,
    check_declared_length,
    multipart_boundary,
    receive_upload,
    store_blob,
)
from docket_core.contracts import ProcessDocument, PurgeDocument, StatusEvent, UploadPace
from docket_core.http.paced_body import paced
from docket_core.http.problems import Problem
from docket_core.metrics import QUOTA_REFUSALS
from docket_core.read_routing import ReadRouter
from docket_core.tables import documents as repo
from docket_core.tables.blobs import BlobStore
from docket_core.tables.jobs import enqueue, unfinished_status


def not_found() -> Problem:
    # Another user's document is indistinguishable from one that does not exist.
    return Problem(404, "No such document.", slug="document-not-found")


def duplicate(existing: uuid.UUID | None) -> Problem:
    return Problem(
        409,
        "You already uploaded this file.",
        slug="duplicate-document",
        existing_id=str(existing),
        headers={"Location": f"/api/v1/documents/{existing}"},
    )


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    size: int
    etag: str
    blob_id: uuid.UUID


@dataclass(frozen=True)
class UploadPolicy:
    """How uploads are received: the file size limit, the pace, and where the bytes wait."""

    max_bytes: int
    pace: UploadPace
    spool_memory_bytes: int
    spool_budget: SpoolBudget


class DocumentService:
    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncConnection[Any]],
        blobs: BlobStore,
        quotas: Quotas,
        uploads: UploadPolicy,
        reads: ReadRouter | None = None,
    ) -> None:
        self.pool = pool
        self.blobs = blobs
        self.quotas = quotas
        self.uploads = uploads
        self.reads = reads or ReadRouter(pool)  # the list may run on a replica (DATABASE_READ_URL)

    async def upload(
        self, owner_id: str, content_type: str | None, content_length: str | None, body: AsyncIterator[bytes]
    ) -> DocumentOut:
        """Receive the file without holding a connection, then store its bytes, its row and its
        processing job in one short transaction, or nothing at all."""
        policy = self.uploads
        check_declared_length(content_length, policy.max_bytes)
        boundary = multipart_boundary(content_type)
        async with self.quotas.upload_slot(owner_id):
            async with self.pool.connection() as conn:
                await self.quotas.precheck(conn, owner_id)
            with Spool(policy.spool_budget, policy.spool_memory_bytes) as spool:
                received = await receive_upload(boundary, paced(body, policy.pace), spool, policy.max_bytes)
                return await self._store(owner_id, received, spool)

    async def _store(self, owner_id: str, received: ReceivedFile, spool: Spool) -> DocumentOut:
        async with self.pool.connection() as conn:
            try:
                async with conn.transaction():
                    existing = await repo.id_by_hash(conn, owner_id, received.sha256)
                    if existing is not None:
                        raise duplicate(existing)
                    blob_id = await store_blob(conn, self.blobs, spool)
                    await self.quotas.reserve(conn, owner_id, received.size)
                    row = await repo.insert(
                        conn,
                        owner_id=owner_id,
                        blob_id=blob_id,
                        filename=received.filename,
                        title=title_from_filename(received.filename),
                        content_type=received.content_type,
                        size_bytes=received.size,
                        sha256=received.sha256,
                    )
                    await enqueue(conn, ProcessDocument(document_id=row["id"]))
                    return document_out(row)
            except UniqueViolation:  # a concurrent upload of the same bytes won the race
                existing = await repo.id_by_hash(conn, owner_id, received.sha256)
        raise duplicate(existing)

    async def page(
        self, owner_id: str, limit: int, cursor: str | None, status: str | None, title_prefix: str | None
    ) -> DocumentPage:
        after = decode_cursor(cursor) if cursor else None
        rows = await self.reads.run(
            owner_id,
            lambda conn: repo.page(
                conn, owner_id, limit=limit + 1, after=after, status=status, title_prefix=title_prefix
            ),
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
        """Queue the document again, unless its processing job has not finished yet (409)."""
        job = ProcessDocument(document_id=document_id)
        async with self.pool.connection() as conn, conn.transaction():
            # the row lock makes two concurrent calls take turns: the second sees the first's job
            current = await repo.lock_owned(conn, owner_id, document_id)
            if current is None:
                raise not_found()
            job_status = await unfinished_status(conn, job)
            if job_status is not None:
                QUOTA_REFUSALS.labels("reprocess_queued").inc()
                raise Problem(
                    409,
                    f"This document's processing is already {job_status}; it was not queued again.",
                    slug="reprocess-already-queued",
                    document_status=current["status"],
                    job_status=job_status,
                )
            row = await repo.mark_pending(conn, owner_id, document_id)
            assert row is not None
            await enqueue(conn, job)
        return document_out(row)

    async def status(self, owner_id: str, document_id: uuid.UUID) -> StatusEvent:
        async with self.pool.connection() as conn:
            row = await repo.status_of(conn, owner_id, document_id)
        if row is None:
            raise not_found()
        return StatusEvent(row["id"], row["status"], row["failure_reason"])
