"""SQL for ``document_thumbnails``: the worker stores or drops a document's thumbnail (with the
document's ``thumbnail_etag``, in the caller's transaction); the API reads it once it has authorized
the document."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from psycopg import AsyncConnection

Row = dict[str, Any]


def etag_of(webp: bytes) -> str:
    """A strong ETag: the thumbnail's content hash, quoted."""
    return f'"{hashlib.sha256(webp).hexdigest()[:32]}"'


async def put(conn: AsyncConnection[Any], document_id: uuid.UUID, webp: bytes | None) -> None:
    """Store ``webp`` as the document's thumbnail, or drop the one it had when None."""
    if webp is None:
        await drop(conn, document_id)
        return
    etag = etag_of(webp)
    await conn.execute(
        "INSERT INTO document_thumbnails (document_id, webp, etag) VALUES (%s, %s, %s) "
        "ON CONFLICT (document_id) DO UPDATE SET webp = excluded.webp, etag = excluded.etag",
        (document_id, webp, etag),
    )
    await conn.execute("UPDATE documents SET thumbnail_etag = %s WHERE id = %s", (etag, document_id))


async def drop(conn: AsyncConnection[Any], document_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM document_thumbnails WHERE document_id = %s", (document_id,))
    await conn.execute("UPDATE documents SET thumbnail_etag = NULL WHERE id = %s", (document_id,))


async def get(conn: AsyncConnection[Any], document_id: uuid.UUID) -> Row | None:
    """The thumbnail (``webp``, ``etag``) of a document the caller has already authorized."""
    cur = await conn.execute(
        "SELECT webp, etag FROM document_thumbnails WHERE document_id = %s", (document_id,)
    )
    return await cur.fetchone()  # type: ignore[return-value]
