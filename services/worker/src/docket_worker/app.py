"""The worker's HTTP side: ``/healthz``, ``/readyz`` and ``/metrics`` on its own port for probes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.types import ASGIApp

from docket_core.db import create_pool
from docket_core.http.plugin import ServicePlugin, wrap_asgi
from docket_core.lifecycle import Lifecycle
from docket_core.logging import configure_logging
from docket_core.redis import create_redis
from docket_core.sentry import init_sentry
from docket_core.settings import load_settings
from docket_worker.settings import WorkerSettings

SERVICE_NAME = "docket-worker"
logger = logging.getLogger("docket.worker")


def create_app(settings: WorkerSettings | None = None) -> ASGIApp:
    """Build the worker process's app; the job loop will run inside its lifespan."""
    settings = settings or load_settings(WorkerSettings)
    configure_logging(settings.log_level, SERVICE_NAME)
    init_sentry(settings, SERVICE_NAME)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = create_pool(settings, SERVICE_NAME)
        app.state.redis = create_redis(settings)
        await app.state.pool.open(wait=False)
        logger.info("worker started", extra={"port": settings.port})
        try:
            yield
        finally:
            await app.state.pool.close()
            await app.state.redis.aclose()
            logger.info("worker stopped")

    async def check_database() -> None:
        async with app.state.pool.connection(timeout=1.0) as conn:
            await conn.execute("SELECT 1")

    async def check_redis() -> None:
        await app.state.redis.ping()

    app = Litestar(
        route_handlers=[],
        plugins=[ServicePlugin(Lifecycle(), lambda: {"database": check_database, "redis": check_redis})],
        lifespan=[lifespan],
        openapi_config=None,
    )
    return wrap_asgi(app)
