"""``purge_document``: remove the bytes of a deleted document."""

from __future__ import annotations

from docket_core.contracts import PurgeDocument
from docket_worker.jobs.context import JobContext


async def purge_document(ctx: JobContext, payload: PurgeDocument) -> None:
    async with ctx.pool.connection() as conn, conn.transaction():
        await ctx.blobs.purge(conn, payload.blob_id)  # kept while a document still refers to it
        await ctx.complete_in(conn)
