"""Open the pool and Redis at start-up; on shutdown close them after in-flight requests finish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from psycopg_pool import PoolTimeout
from redis.asyncio import Redis

from docket_api.db.migrate import required_version, schema_version
from docket_api.domain.auth.passwords import PasswordHashing, hashing_slots
from docket_api.domain.auth.service import AuthService
from docket_api.domain.auth.tokens import TokenCodec
from docket_api.domain.documents.quotas import QuotaLimits, Quotas
from docket_api.domain.documents.service import DocumentService, UploadPolicy
from docket_api.domain.documents.spool import SpoolBudget
from docket_api.domain.tokens.service import TokenService
from docket_api.domain.workspaces.service import WorkspaceService
from docket_api.server.memory_limit import memory_limit_bytes
from docket_api.server.ratelimit import RateLimiter
from docket_api.settings import ApiSettings
from docket_core.db import Pool, checkouts_granted, create_pool
from docket_core.http.health import BusyError
from docket_core.metrics import sample_pool_stats
from docket_core.read_routing import ReadRouter, WriteMarkers
from docket_core.redis import create_redis
from docket_core.tables.blobs import PostgresBlobStore

logger = logging.getLogger("docket.api")


async def open_read_router(settings: ApiSettings, pool: Pool, redis: Redis) -> ReadRouter:
    """List and search reads: on the replica of DATABASE_READ_URL when it is set (its pool opened without
    waiting, and never part of readiness: a replica that is down only sends the reads to the primary)."""
    if not settings.database_read_url:
        return ReadRouter(pool)
    replica = create_pool(settings, "docket-api-read", settings.database_read_url)
    await replica.open(wait=False)
    ttl = settings.read_your_writes_seconds
    return ReadRouter(pool, replica, WriteMarkers(redis, ttl) if ttl else None)


RELEASE_WAIT_SECONDS = 2.0


def make_lifespan(settings: ApiSettings, codec: TokenCodec):  # type: ignore[no-untyped-def]
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = create_pool(settings, "docket-api")
        redis = create_redis(settings)
        # wait=False: the API starts (and answers /healthz) even while the database is still coming up
        await pool.open(wait=False)
        app.state.pool = pool
        app.state.redis = redis
        app.state.rate_limiter = RateLimiter(redis, settings.rate_limit_window_seconds)
        app.state.auth_service = AuthService(pool, redis, codec, settings, password_hashing(settings))
        app.state.reads = await open_read_router(settings, pool, redis)
        quotas = quotas_from(settings, redis)
        app.state.documents = DocumentService(
            pool, PostgresBlobStore(), quotas, upload_policy(settings), app.state.reads
        )
        app.state.workspaces = WorkspaceService(pool)
        app.state.tokens = TokenService(pool)
        app.state.expected_schema = required_version()
        stats_task = asyncio.create_task(sample_pool_stats(pool))
        logger.info("api started", extra={"port": settings.port, "environment": settings.environment})
        try:
            yield
        finally:
            stats_task.cancel()
            # the uploads the shutdown cancelled give their slots back before Redis closes
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RELEASE_WAIT_SECONDS):
                    await quotas.all_released()
            await app.state.reads.close()
            await pool.close()
            await redis.aclose()
            logger.info("api stopped")

    return lifespan


def quotas_from(settings: ApiSettings, redis: Redis) -> Quotas:
    limits = QuotaLimits(
        stored_bytes=settings.quota_stored_bytes,
        documents=settings.quota_documents,
        uploads_in_flight=settings.quota_uploads_in_flight,
    )
    return Quotas(limits, redis)


def upload_policy(settings: ApiSettings) -> UploadPolicy:
    return UploadPolicy(
        max_bytes=settings.max_upload_bytes,
        pace=settings.upload_pace,
        spool_memory_bytes=settings.upload_spool_memory_bytes,
        spool_budget=SpoolBudget(settings.upload_spool_max_bytes),
    )


def password_hashing(settings: ApiSettings) -> PasswordHashing:
    """PASSWORD_HASH_CONCURRENCY slots, or (0) as many as this process's share of the memory limit holds."""
    slots = settings.password_hash_concurrency
    if slots == 0:
        limit = memory_limit_bytes()
        slots = hashing_slots(limit, settings.workers)
        logger.info(
            "password hashing sized from memory",
            extra={"memory_limit_mib": limit // 2**20, "workers": settings.workers, "slots": slots},
        )
    return PasswordHashing(slots, settings.password_hash_wait_seconds)


async def check_database(app: Litestar) -> None:
    pool = app.state.pool
    lent_before = checkouts_granted(pool)
    try:
        # the pool gives up just inside the check's 1 s budget, so its answer is the one heard
        async with pool.connection(timeout=0.9) as conn:
            version = await schema_version(conn)
    except PoolTimeout as timeout:
        lent = checkouts_granted(pool) - lent_before
        if lent > 0:
            raise BusyError(f"the pool lent {lent} connections while this check waited") from timeout
        # nothing was lent: every connection is stuck, or none can be opened in time: a timeout
        # (readiness calls it slow just after a pass), not a failure, as refused connections raise otherwise
        raise TimeoutError("no pooled connection within 0.9s") from timeout
    expected = app.state.expected_schema
    # A schema *ahead* of the code stays ready: during a rolling upgrade the new release's
    # migrations run first while old pods keep serving, so migrations must stay backward compatible.
    if version < expected:
        logger.error(
            "database schema is behind the code (at %s, need %s); run `docket-api migrate`", version, expected
        )
        raise RuntimeError(f"schema at version {version}, code needs {expected}; run `docket-api migrate`")


async def check_redis(app: Litestar) -> None:
    await app.state.redis.ping()
