"""What a job handler gets: its job, the shared resources, and the way to commit its result."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.exceptions import RedisError

from docket_core.contracts import DocumentStatus, StatusEvent, document_events_channel, encode_status_event
from docket_core.tables import jobs as queue
from docket_core.tables.blobs import BlobStore
from docket_core.tables.jobs import ClaimedJob
from docket_worker.processing.sandbox import Sandbox
from docket_worker.settings import WorkerSettings

logger = logging.getLogger("docket.worker")


@dataclass
class JobContext:
    job: ClaimedJob
    worker_id: str
    pool: AsyncConnectionPool[AsyncConnection[Any]]
    redis: Redis
    settings: WorkerSettings
    blobs: BlobStore
    sandbox: Sandbox  # where files are parsed: never in this process
    completed: bool = False

    async def complete_in(self, conn: AsyncConnection[Any]) -> None:
        """Mark the job done in ``conn``'s transaction, so the effect and the completion commit together."""
        await queue.complete(conn, self.job, self.worker_id)
        self.completed = True

    async def publish_status(
        self, document_id: uuid.UUID, status: DocumentStatus, failure_reason: str | None = None
    ) -> None:
        """Tell live listeners (SSE) about a status change; losing one is harmless, so errors are logged."""
        message = encode_status_event(StatusEvent(document_id, status, failure_reason))
        try:
            await self.redis.publish(document_events_channel(document_id), message)
        except (RedisError, OSError) as exc:
            logger.warning("could not publish status event: %s", type(exc).__name__)
