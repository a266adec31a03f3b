"""Job kinds and the handlers that run them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from docket_core.contracts import PROCESS_DOCUMENT, PURGE_DOCUMENT
from docket_worker.handlers.process_document import process_document
from docket_worker.handlers.purge_document import purge_document
from docket_worker.jobs.context import JobContext

Handler = Callable[[JobContext], Awaitable[None]]
HANDLERS: dict[str, Handler] = {
    PROCESS_DOCUMENT: process_document,
    PURGE_DOCUMENT: purge_document,
}


async def _document_gave_up(ctx: JobContext) -> None:
    document_id = str(ctx.job.payload["document_id"])
    reason = "Processing failed repeatedly; try reprocessing later."
    async with ctx.pool.connection() as conn:
        await conn.execute(
            "UPDATE documents SET status = 'failed', failure_reason = %s, updated_at = now() WHERE id = %s",
            (reason, document_id),
        )
    await ctx.publish_status(document_id, "failed", reason)


# What to do once a job of this kind is dead, so no document waits forever in "processing".
ON_DEAD: dict[str, Handler] = {PROCESS_DOCUMENT: _document_gave_up}
