"""``process_document``: extract the text, derive title and counts, fill the search vector."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

from docket_core.contracts import ProcessDocument
from docket_core.tables import documents, thumbnails
from docket_worker.jobs.context import JobContext
from docket_worker.processing.extract import Extracted, ExtractionError
from docket_worker.processing.sandbox import SandboxLimits

logger = logging.getLogger("docket.worker.process")
GAVE_UP_REASON = "Processing failed repeatedly; try reprocessing later."


async def process_document(ctx: JobContext, payload: ProcessDocument) -> None:
    document_id = payload.document_id
    async with ctx.pool.connection() as conn:
        document = await documents.to_process(conn, document_id)
        if document is None:
            async with conn.transaction():
                await ctx.complete_in(conn)  # deleted before we got to it: nothing to do
            return
        await documents.mark_processing(conn, document_id)
    await ctx.publish_status(document_id, "processing")

    with tempfile.TemporaryDirectory(prefix="docket-job-") as workdir:
        path = Path(workdir) / "original"
        async with ctx.pool.connection() as conn:
            with path.open("wb") as out:
                async for chunk in ctx.blobs.chunks(conn, document["blob_id"]):
                    out.write(chunk)
        settings = ctx.settings
        try:
            extracted: Extracted | None = await ctx.sandbox.extract(
                path, document["content_type"], SandboxLimits.from_settings(settings)
            )
            reason = None
        except ExtractionError as exc:
            extracted, reason = None, exc.reason

    if settings.worker_job_hold_seconds:
        await asyncio.sleep(settings.worker_job_hold_seconds)  # testing aid: a window to kill the worker in

    async with ctx.pool.connection() as conn, conn.transaction():
        if extracted is not None:
            await documents.mark_ready(
                conn,
                document_id,
                text=extracted.text,
                title=extracted.title,
                page_count=extracted.page_count,
                word_count=extracted.word_count,
                text_encoding=extracted.encoding,
                notice=extracted.notice,
            )
            await thumbnails.put(conn, document_id, extracted.thumbnail)
        else:
            assert reason is not None
            await documents.mark_failed(conn, document_id, reason)
            await thumbnails.drop(conn, document_id)
        await ctx.complete_in(conn)
    if extracted is not None:
        await ctx.publish_status(document_id, "ready")
    else:
        logger.info("document failed: %s", reason, extra={"document_id": str(document_id)})
        await ctx.publish_status(document_id, "failed", reason)


async def document_gave_up(ctx: JobContext, payload: ProcessDocument) -> None:
    """The job is dead: the document fails, like one whose extraction failed, not left "processing"."""
    async with ctx.pool.connection() as conn, conn.transaction():
        await documents.mark_failed(conn, payload.document_id, GAVE_UP_REASON)
        await thumbnails.drop(conn, payload.document_id)
    await ctx.publish_status(payload.document_id, "failed", GAVE_UP_REASON)
