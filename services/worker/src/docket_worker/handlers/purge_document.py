"""``purge_document``: remove the bytes of a deleted document."""

from __future__ import annotations

from docket_core.contracts import PurgeDocument
from docket_worker.jobs.context import JobContext


async def purge_document(ctx: JobContext, payload: PurgeDocument) -> None:
    blob_id = payload.blob_id
    async with ctx.pool.connection() as conn, conn.transaction():
        # a blob still referenced (a document was re-created on it) is kept; deleting twice is harmless
        await conn.execute(
            "DELETE FROM document_blobs b WHERE b.id = %s "
            "AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.blob_id = b.id)",
            (blob_id,),
        )
        await ctx.complete_in(conn)
