"""The job loop: wake on NOTIFY (or poll), claim with SKIP LOCKED, run with leases, drain on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from docket_core.contracts import JOBS_NOTIFY_CHANNEL, MalformedMessageError, decode_job_payload
from docket_core.tables import jobs as queue
from docket_core.tables.blobs import BlobStore
from docket_core.tables.jobs import ClaimedJob, LeaseLostError
from docket_worker.handlers.registry import HANDLERS
from docket_worker.jobs.context import JobContext
from docket_worker.jobs.metrics import IN_FLIGHT, JOB_DURATION, JOBS, OLDEST_PENDING, QUEUE_DEPTH
from docket_worker.processing.sandbox import Sandbox
from docket_worker.settings import WorkerSettings

logger = logging.getLogger("docket.worker.runner")
STATS_INTERVAL_SECONDS = 5.0
LISTEN_CHECK_SECONDS = 30.0
# libpq: probe an idle LISTEN connection after 10 s, give up after three lost probes or 15 s unanswered
LISTEN_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,
}


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def _after_death(ctx: JobContext) -> None:
    """Run the kind's ``on_dead`` step, if it has one and the payload can be read."""
    handler = HANDLERS.get(ctx.job.kind)
    if handler is None or handler.on_dead is None:
        return
    try:
        payload = decode_job_payload(ctx.job.payload, handler.payload)
    except MalformedMessageError:
        return  # the job died of it; its last_error says why
    await handler.on_dead(ctx, payload)


class JobRunner:
    def __init__(
        self,
        settings: WorkerSettings,
        pool: AsyncConnectionPool[AsyncConnection[Any]],
        redis: Redis,
        blobs: BlobStore,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.redis = redis
        self.blobs = blobs
        self.worker_id = new_worker_id()
        self.sandbox = Sandbox()
        self.running: dict[int, tuple[ClaimedJob, asyncio.Task[None]]] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.sandbox.start()  # its parsers load while the first jobs are claimed
        self._tasks = [
            asyncio.create_task(self._dispatch(), name="jobs-dispatch"),
            asyncio.create_task(self._listen(), name="jobs-listen"),
            asyncio.create_task(self._heartbeat(), name="jobs-heartbeat"),
            asyncio.create_task(self._sample_queue(), name="jobs-stats"),
        ]
        logger.info(
            "job runner started",
            extra={"worker_id": self.worker_id, "concurrency": self.settings.worker_concurrency},
        )

    def stop_claiming(self) -> None:
        """Take no new jobs (called from the SIGTERM handler, via the event loop)."""
        self._stopping.set()
        self._wake.set()

    async def shutdown(self, grace: float) -> None:
        """Finish running jobs within ``grace`` seconds, then give back the rest."""
        self.stop_claiming()
        in_flight = [task for _, task in self.running.values()]
        if in_flight:
            logger.info("waiting for %d running job(s)", len(in_flight))
            _, pending = await asyncio.wait(in_flight, timeout=grace)
            unfinished = [job for job, task in self.running.values() if task in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if unfinished:
                async with self.pool.connection() as conn:
                    await queue.release(conn, unfinished, self.worker_id)
                logger.info("released %d unfinished job(s)", len(unfinished))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sandbox.aclose()

    async def _dispatch(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # cleared before claiming, so a NOTIFY that arrives meanwhile is not lost
            free = self.settings.worker_concurrency - len(self.running)
            claimed: list[ClaimedJob] = []
            if free > 0:
                try:
                    async with self.pool.connection() as conn:
                        claimed = await queue.claim(
                            conn, self.worker_id, free, self.settings.worker_lease_seconds
                        )
                except (psycopg.Error, OSError) as exc:
                    logger.warning("could not claim jobs: %s", exc)
                    await asyncio.sleep(1.0)
                    continue
                for job in claimed:
                    if self._stopping.is_set():
                        break
                    task = asyncio.create_task(self._run(job), name=f"job-{job.id}")
                    self.running[job.id] = (job, task)
            if len(claimed) < free or free <= 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.worker_poll_interval_seconds)

    async def _run(self, job: ClaimedJob) -> None:
        started = time.perf_counter()
        IN_FLIGHT.inc()
        ctx = JobContext(job, self.worker_id, self.pool, self.redis, self.settings, self.blobs, self.sandbox)
        outcome = "succeeded"
        try:
            if job.attempt > job.max_attempts:
                async with self.pool.connection() as conn:
                    await queue.bury_overdue(conn, job, self.worker_id)
                outcome = "dead"
            else:
                handler = HANDLERS.get(job.kind)
                if handler is None:
                    raise RuntimeError(f"no handler for job kind {job.kind!r}")
                await handler.run(ctx, decode_job_payload(job.payload, handler.payload))
                if not ctx.completed:
                    async with self.pool.connection() as conn, conn.transaction():
                        await ctx.complete_in(conn)
        except LeaseLostError:
            outcome = "lease_lost"
            logger.warning("lease lost; result discarded", extra={"job_id": job.id, "attempt": job.attempt})
        except asyncio.CancelledError:
            outcome = "released"
            raise
        except Exception as exc:
            logger.exception("job failed", extra={"job_id": job.id, "kind": job.kind, "attempt": job.attempt})
            try:
                async with self.pool.connection() as conn:
                    outcome = await queue.fail(conn, job, self.worker_id, f"{type(exc).__name__}: {exc}")
            except Exception:
                logger.exception("could not record the failure; the lease will expire and it will run again")
                outcome = "retry"
        finally:
            IN_FLIGHT.dec()
            JOBS.labels(job.kind, outcome).inc()
            JOB_DURATION.labels(job.kind).observe(time.perf_counter() - started)
            self.running.pop(job.id, None)
            self._wake.set()
        if outcome == "dead":
            await _after_death(ctx)

    async def _listen(self) -> None:
        """LISTEN on the queue channel; any notification wakes the dispatcher at once.

        The connection goes to DATABASE_LISTEN_URL (the primary itself: a transaction pooler cannot
        hold a LISTEN). Keepalives and a periodic query notice a connection the network silently
        dropped (a failover moving the primary), which would otherwise wait for NOTIFYs forever.
        """
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    make_conninfo(self.settings.listen_url, **LISTEN_KEEPALIVES),
                    autocommit=True,
                    application_name="docket-worker-listen",
                )
                async with conn:
                    await conn.execute(f"LISTEN {JOBS_NOTIFY_CHANNEL}")
                    self._wake.set()  # catch up on anything enqueued while we were not listening
                    while True:
                        async for _ in conn.notifies(timeout=LISTEN_CHECK_SECONDS):
                            self._wake.set()
                        await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                logger.warning("LISTEN connection lost (%s); polling until it is back", type(exc).__name__)
                await asyncio.sleep(2.0)

    async def _heartbeat(self) -> None:
        interval = max(self.settings.worker_lease_seconds / 3, 0.2)
        while True:
            await asyncio.sleep(interval)
            if not self.running:
                continue
            try:
                async with self.pool.connection() as conn:
                    await queue.extend_leases(
                        conn, self.worker_id, list(self.running), self.settings.worker_lease_seconds
                    )
            except (psycopg.Error, OSError) as exc:
                logger.warning("heartbeat failed: %s", exc)

    async def _sample_queue(self) -> None:
        while True:
            try:
                async with self.pool.connection() as conn:
                    depth, oldest = await queue.queue_stats(conn)
                QUEUE_DEPTH.set(depth)
                OLDEST_PENDING.set(oldest)
            except (psycopg.Error, OSError):
                pass
            await asyncio.sleep(STATS_INTERVAL_SECONDS)
