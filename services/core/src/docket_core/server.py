"""Run an ASGI app factory under uvicorn with Docket's production settings."""

from __future__ import annotations

import os
import tempfile

import uvicorn

from docket_core.settings import CommonSettings


def serve(factory_path: str, settings: CommonSettings) -> None:
    """Serve ``module:factory`` until SIGTERM; in-flight requests get ``SHUTDOWN_GRACE_SECONDS``."""
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # must be set before any worker imports prometheus_client
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")
    uvicorn.run(
        factory_path,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For is resolved by the app against TRUSTED_PROXIES
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        timeout_keep_alive=5,
    )
