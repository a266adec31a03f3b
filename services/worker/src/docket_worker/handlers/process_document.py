"""``process_document``: extract the text, derive title and counts, fill the search vector."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

from docket_core.contracts import ProcessDocument
from docket_worker.jobs.context import JobContext
from docket_worker.processing.extract import Extracted, ExtractionError
from docket_worker.processing.sandbox import extract_safely

logger = logging.getLogger("docket.worker.process")
INDEXED_TEXT_CHARS = 300_000  # a tsvector holds at most 1 MB; the rest of a huge text is stored, not indexed


async def _load(conn: AsyncConnection[Any], document_id: uuid.UUID) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT id, blob_id, content_type, filename, title FROM documents WHERE id = %s", (document_id,)
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def _write_blob(conn: AsyncConnection[Any], blob_id: uuid.UUID, target: Path) -> None:
    cur = await conn.execute(
        "SELECT data FROM document_blob_chunks WHERE blob_id = %s ORDER BY seq", (blob_id,)
    )
    with target.open("wb") as out:
        async for row in cur:
            out.write(row["data"])  # type: ignore[call-overload]


async def process_document(ctx: JobContext, payload: ProcessDocument) -> None:
    document_id = payload.document_id
    async with ctx.pool.connection() as conn:
        document = await _load(conn, document_id)
        if document is None:
            async with conn.transaction():
                await ctx.complete_in(conn)  # deleted before we got to it: nothing to do
            return
        await conn.execute(
            "UPDATE documents SET status = 'processing', updated_at = now() WHERE id = %s", (document_id,)
        )
    await ctx.publish_status(document_id, "processing")

    with tempfile.TemporaryDirectory(prefix="docket-job-") as workdir:
        path = Path(workdir) / "original"
        async with ctx.pool.connection() as conn:
            await _write_blob(conn, document["blob_id"], path)
        settings = ctx.settings
        try:
            extracted: Extracted | None = await extract_safely(
                path,
                document["content_type"],
                settings.worker_extract_timeout_seconds,
                settings.worker_extract_memory_mb * 1024 * 1024,
            )
            reason = None
        except ExtractionError as exc:
            extracted, reason = None, exc.reason

    if settings.worker_job_hold_seconds:
        await asyncio.sleep(settings.worker_job_hold_seconds)  # testing aid: a window to kill the worker in

    async with ctx.pool.connection() as conn, conn.transaction():
        if extracted is not None:
            await conn.execute(
                """
                UPDATE documents d SET
                    status = 'ready', failure_reason = NULL, extracted_text = t.text,
                    title = coalesce(%(title)s, d.title), page_count = %(pages)s, word_count = %(words)s,
                    search = setweight(to_tsvector('english', coalesce(%(title)s, d.title)), 'A')
                          || setweight(to_tsvector('english', left(t.text, %(indexed)s)), 'B'),
                    updated_at = now()
                FROM (SELECT %(text)s::text AS text) t  -- the text is sent once, not twice
                WHERE d.id = %(id)s
                """,
                {
                    "id": document_id,
                    "text": extracted.text,
                    "title": extracted.title,
                    "pages": extracted.page_count,
                    "words": len(extracted.text.split()),
                    "indexed": INDEXED_TEXT_CHARS,
                },
            )
        else:
            await conn.execute(
                "UPDATE documents SET status = 'failed', failure_reason = %s, extracted_text = NULL, "
                "search = NULL, word_count = NULL, page_count = NULL, updated_at = now() WHERE id = %s",
                (reason, document_id),
            )
        await ctx.complete_in(conn)
    if extracted is not None:
        await ctx.publish_status(document_id, "ready")
    else:
        logger.info("document failed: %s", reason, extra={"document_id": str(document_id)})
        await ctx.publish_status(document_id, "failed", reason)


async def document_gave_up(ctx: JobContext, payload: ProcessDocument) -> None:
    """The job is dead: the document is failed, not left waiting in "processing"."""
    reason = "Processing failed repeatedly; try reprocessing later."
    async with ctx.pool.connection() as conn:
        await conn.execute(
            "UPDATE documents SET status = 'failed', failure_reason = %s, updated_at = now() WHERE id = %s",
            (reason, payload.document_id),
        )
    await ctx.publish_status(payload.document_id, "failed", reason)
