"""Where a document's bytes live: ``document_blobs`` and ``document_blob_chunks``, in PostgreSQL by
default, so one pg_dump holds everything.

The API (upload, download) and the worker (processing, purging) speak only to :class:`BlobStore`; an
S3-compatible store can implement it later.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

from psycopg import AsyncConnection

CHUNK_BYTES = 256 * 1024


class BlobStore(Protocol):
    chunk_bytes: int

    async def create(self, conn: AsyncConnection[Any]) -> uuid.UUID: ...

    async def append(self, conn: AsyncConnection[Any], blob_id: uuid.UUID, seq: int, data: bytes) -> None: ...

    async def finish(self, conn: AsyncConnection[Any], blob_id: uuid.UUID, size: int) -> None: ...

    async def read_chunk(self, conn: AsyncConnection[Any], blob_id: uuid.UUID, seq: int) -> bytes | None: ...

    def chunks(self, conn: AsyncConnection[Any], blob_id: uuid.UUID) -> AsyncIterator[bytes]: ...

    async def purge(self, conn: AsyncConnection[Any], blob_id: uuid.UUID) -> None: ...


class PostgresBlobStore:
    """Blobs as fixed-size chunks in ``document_blob_chunks``, written inside the caller's transaction."""

    chunk_bytes = CHUNK_BYTES

    async def create(self, conn: AsyncConnection[Any]) -> uuid.UUID:
        cur = await conn.execute("INSERT INTO document_blobs DEFAULT VALUES RETURNING id")
        row = await cur.fetchone()
        assert row is not None
        return row["id"]  # type: ignore[no-any-return,call-overload]

    async def append(self, conn: AsyncConnection[Any], blob_id: uuid.UUID, seq: int, data: bytes) -> None:
        await conn.execute(
            "INSERT INTO document_blob_chunks (blob_id, seq, data) VALUES (%s, %s, %s)", (blob_id, seq, data)
        )

    async def finish(self, conn: AsyncConnection[Any], blob_id: uuid.UUID, size: int) -> None:
        await conn.execute("UPDATE document_blobs SET size_bytes = %s WHERE id = %s", (size, blob_id))

    async def read_chunk(self, conn: AsyncConnection[Any], blob_id: uuid.UUID, seq: int) -> bytes | None:
        cur = await conn.execute(
            "SELECT data FROM document_blob_chunks WHERE blob_id = %s AND seq = %s", (blob_id, seq)
        )
        row = await cur.fetchone()
        return bytes(row["data"]) if row else None  # type: ignore[call-overload]

    async def chunks(self, conn: AsyncConnection[Any], blob_id: uuid.UUID) -> AsyncIterator[bytes]:
        """Every chunk of the blob, in order."""
        cur = await conn.execute(
            "SELECT data FROM document_blob_chunks WHERE blob_id = %s ORDER BY seq", (blob_id,)
        )
        async for row in cur:
            yield bytes(row["data"])  # type: ignore[call-overload]

    async def purge(self, conn: AsyncConnection[Any], blob_id: uuid.UUID) -> None:
        """Delete the blob unless a document still refers to it; deleting twice is harmless."""
        await conn.execute(
            "DELETE FROM document_blobs b WHERE b.id = %s "
            "AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.blob_id = b.id)",
            (blob_id,),
        )
