"""The worker process: the job runner, plus ``/healthz``, ``/readyz`` and ``/metrics`` for probes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from litestar import Litestar
from litestar.types import ASGIApp

from docket_core.background import in_background
from docket_core.db import create_pool
from docket_core.http.plugin import ServicePlugin, wrap_asgi
from docket_core.lifecycle import Lifecycle
from docket_core.logging import configure_logging
from docket_core.metrics import sample_pool_stats
from docket_core.redis import create_redis
from docket_core.sentry import init_sentry
from docket_core.settings import load_settings
from docket_core.tables.blobs import PostgresBlobStore
from docket_worker.audit.prune import prune_forever
from docket_worker.jobs.runner import JobRunner
from docket_worker.search.reindex import apply_until_done
from docket_worker.settings import WorkerSettings

SERVICE_NAME = "docket-worker"
logger = logging.getLogger("docket.worker")


def create_app(settings: WorkerSettings | None = None) -> ASGIApp:
    """Build the worker process; its lifespan runs the jobs until SIGTERM."""
    settings = settings or load_settings(WorkerSettings)
    configure_logging(settings.log_level, SERVICE_NAME)
    init_sentry(settings, SERVICE_NAME)
    lifecycle = Lifecycle()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = create_pool(settings, SERVICE_NAME)
        redis = create_redis(settings)
        await pool.open(wait=False)
        runner = JobRunner(settings, pool, redis, PostgresBlobStore())
        app.state.pool, app.state.redis, app.state.runner = pool, redis, runner
        loop = asyncio.get_running_loop()
        lifecycle.on_drain(lambda: _call_soon(loop, runner.stop_claiming))
        runner.start()
        stats = asyncio.create_task(sample_pool_stats(pool))
        logger.info("worker started", extra={"port": settings.port, "worker_id": runner.worker_id})
        try:
            async with (
                in_background(prune_forever(pool, settings.audit_retention_days), "audit-prune"),
                in_background(apply_until_done(pool, settings.search_text_config), "search-config"),
            ):
                yield
        finally:
            await runner.shutdown(settings.shutdown_grace_seconds)
            stats.cancel()
            await pool.close()
            await redis.aclose()
            logger.info("worker stopped")

    async def check_database() -> None:
        async with app.state.pool.connection(timeout=1.0) as conn:
            await conn.execute("SELECT 1")

    async def check_redis() -> None:
        await app.state.redis.ping()

    app = Litestar(
        route_handlers=[],
        plugins=[ServicePlugin(lifecycle, lambda: {"database": check_database, "redis": check_redis})],
        lifespan=[lifespan],
        openapi_config=None,
    )
    return wrap_asgi(app)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    loop.call_soon_threadsafe(callback)
