"""A document fails the same way whichever path fails it, against real PostgreSQL and Redis: its stale
text and search vector go, so a failed document shows no old preview and matches no search."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from docket_core.contracts import ProcessDocument, StatusEvent, decode_status_event, document_events_channel
from docket_core.db import create_pool
from docket_core.tables import documents, jobs
from docket_core.tables.blobs import PostgresBlobStore
from docket_worker.handlers.process_document import GAVE_UP_REASON, document_gave_up, process_document
from docket_worker.jobs.context import JobContext
from docket_worker.processing.sandbox import Sandbox
from docket_worker.settings import WorkerSettings

BLOBS = PostgresBlobStore()
FAILED_COLUMNS = "status, failure_reason, extracted_text, search, word_count, page_count, title"


@dataclass
class Stack:
    pool: AsyncConnectionPool[AsyncConnection[Any]]
    redis: Redis
    settings: WorkerSettings
    owner: uuid.UUID
    workspace: uuid.UUID
    sandbox: Sandbox


@asynccontextmanager
async def _stack(database_url: str, redis_url: str) -> AsyncIterator[Stack]:
    settings = WorkerSettings(
        environment="test", database_url=database_url, redis_url=redis_url, worker_extract_timeout_seconds=20
    )
    pool = create_pool(settings, "docket-worker-test")
    await pool.open()
    redis = Redis.from_url(redis_url)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO users (email, password_hash) VALUES ('ada@example.com', 'x') RETURNING id"
        )
        owner = (await cur.fetchone())["id"]  # type: ignore[index]
        cur = await conn.execute("SELECT docket_personal_workspace(%s) AS id", (owner,))
        workspace = (await cur.fetchone())["id"]  # type: ignore[index]
    try:
        async with Sandbox() as sandbox:
            yield Stack(pool, redis, settings, owner, workspace, sandbox)
    finally:
        await redis.aclose()
        await pool.close()


async def _ready_document(stack: Stack, data: bytes, content_type: str, text: str) -> uuid.UUID:
    """A document that an earlier run made ready and searchable, with ``data`` as its bytes."""
    async with stack.pool.connection() as conn, conn.transaction():
        blob_id = await BLOBS.create(conn)
        await BLOBS.append(conn, blob_id, 0, data)
        await BLOBS.finish(conn, blob_id, len(data))
        row = await documents.insert(
            conn, workspace_id=stack.workspace, owner_id=str(stack.owner),
            blob_id=blob_id, filename="f", title="Field notes",
            content_type=content_type, size_bytes=len(data), sha256=hashlib.sha256(data).digest(),
        )  # fmt: skip
        await documents.mark_ready(conn, row["id"], text=text, title=None, page_count=3, word_count=4)
    return row["id"]  # type: ignore[no-any-return]


async def _claimed_context(stack: Stack, document_id: uuid.UUID) -> JobContext:
    async with stack.pool.connection() as conn:
        async with conn.transaction():
            await jobs.enqueue(conn, ProcessDocument(document_id))
        (job,) = await jobs.claim(conn, "test-worker", 1, 30)
    return JobContext(job, "test-worker", stack.pool, stack.redis, stack.settings, BLOBS, stack.sandbox)


async def _row(stack: Stack, document_id: uuid.UUID) -> dict[str, Any]:
    async with stack.pool.connection() as conn:
        cur = await conn.execute(f"SELECT {FAILED_COLUMNS} FROM documents WHERE id = %s", (document_id,))
        row = await cur.fetchone()
    assert row is not None
    return row  # type: ignore[no-any-return]


async def _searchable(stack: Stack, word: str) -> list[uuid.UUID]:
    async with stack.pool.connection() as conn:
        return [hit["id"] for hit in await documents.search(conn, [stack.workspace], word, 10, 0)]


async def _published(stack: Stack, document_id: uuid.UUID, step: Any) -> list[StatusEvent]:
    """Run ``step`` while listening on the document's channel; the events it published."""
    pubsub = stack.redis.pubsub()
    await pubsub.subscribe(document_events_channel(document_id))
    try:
        await step
        events: list[StatusEvent] = []
        deadline = asyncio.get_running_loop().time() + 10  # "did not hang", not a speed limit
        while not (events and events[-1].is_final) and asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if message is not None:
                events.append(decode_status_event(message["data"]))
        return events
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


def test_extraction_failure_and_giving_up_leave_the_same_failed_document(
    clean_db: str, clean_redis: str
) -> None:
    async def scenario() -> None:
        async with _stack(clean_db, clean_redis) as stack:
            refused = await _ready_document(stack, b"\xff\xfe\x00" * 50, "text/plain", "old okapi text here")
            dead = await _ready_document(stack, b"fine words", "text/plain", "old okapi text here too")
            assert sorted(await _searchable(stack, "okapi")) == sorted([refused, dead])

            ctx = await _claimed_context(stack, refused)
            events = await _published(stack, refused, process_document(ctx, ProcessDocument(refused)))
            assert ctx.completed
            assert [e.status for e in events] == ["processing", "failed"]
            assert "binary" in (events[-1].failure_reason or "")

            ctx = await _claimed_context(stack, dead)
            events = await _published(stack, dead, document_gave_up(ctx, ProcessDocument(dead)))
            assert events == [StatusEvent(dead, "failed", GAVE_UP_REASON)]

            after_refusal, after_giving_up = await _row(stack, refused), await _row(stack, dead)
            reason = after_refusal.pop("failure_reason")
            assert "binary" in reason
            assert after_giving_up.pop("failure_reason") == GAVE_UP_REASON
            assert after_refusal == after_giving_up == {
                "status": "failed", "extracted_text": None, "search": None, "word_count": None,
                "page_count": None, "title": "Field notes",
            }  # fmt: skip
            assert await _searchable(stack, "okapi") == []
            async with stack.pool.connection() as conn:
                shown = await documents.detail(conn, stack.workspace, dead, preview_chars=100)
            assert shown is not None
            assert shown["preview"] is None, "no stale preview either"

    asyncio.run(scenario())


def test_mark_failed_on_a_deleted_document_changes_nothing(clean_db: str) -> None:
    async def scenario() -> None:
        async with await psycopg.AsyncConnection.connect(clean_db, autocommit=True) as conn:
            await documents.mark_failed(conn, uuid.uuid4(), "gone")
            cur = await conn.execute("SELECT count(*) FROM documents")
            assert await cur.fetchone() == (0,)

    asyncio.run(scenario())
