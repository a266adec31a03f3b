"""What a job handler gets: its job, the shared resources, and the way to commit its result."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from redis.asyncio import Redis
from redis.exceptions import RedisError

from docket_core.contracts import DocumentStatus, StatusEvent, document_events_channel, encode_status_event
from docket_core.read_routing import WRITE_MARKER_ERRORS, WriteMarkers, record_write
from docket_core.tables import documents
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
        """Tell readers about a committed status change: first the read routing, so the owner's next
        list or search sees it even on a lagging replica, then live listeners (SSE). Losing either is
        harmless to the job, so errors are logged."""
        await self._mark_owner_write(document_id)
        message = encode_status_event(StatusEvent(document_id, status, failure_reason))
        try:
            await self.redis.publish(document_events_channel(document_id), message)
        except (RedisError, OSError) as exc:
            logger.warning("could not publish status event: %s", type(exc).__name__)

    @cached_property
    def _markers(self) -> WriteMarkers:
        return WriteMarkers(self.redis, self.settings.read_your_writes_seconds)

    async def _mark_owner_write(self, document_id: uuid.UUID) -> None:
        if not self.settings.read_your_writes_seconds:
            return
        try:
            async with self.pool.connection() as conn:
                owner = await documents.owner_of(conn, document_id)
                if owner is not None:
                    await record_write(conn, self._markers, owner)
        except (psycopg.Error, PoolTimeout) as exc:
            WRITE_MARKER_ERRORS.inc()
            logger.warning("could not record the owner's write marker: %s", type(exc).__name__)
