"""``/healthz`` (liveness: the process answers) and ``/readyz`` (readiness: dependencies answer)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from docket_core.lifecycle import Lifecycle

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 1.0
logger = logging.getLogger("docket.health")


async def run_check(check: Check, limit: float = CHECK_TIMEOUT_SECONDS) -> str:
    """Run one readiness check; return ``ok`` or the reason it failed."""
    try:
        async with asyncio.timeout(limit):
            await check()
    except TimeoutError:
        return f"timed out after {limit:g}s"
    except Exception as exc:  # any failure means not ready; the reason goes in the body
        return f"{type(exc).__name__}: {exc}"[:200] or type(exc).__name__
    return "ok"


def health_handlers(
    lifecycle: Lifecycle, checks: Callable[[], Mapping[str, Check]]
) -> list[HTTPRouteHandler]:
    """Build the two probe handlers; ``checks`` is called per request so it can read app state."""

    @get("/healthz", include_in_schema=False, sync_to_thread=False, cache_control=None)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", include_in_schema=False)
    async def readyz() -> Response[dict[str, Any]]:
        if lifecycle.draining:
            return Response({"status": "shutting down", "checks": {}}, status_code=503)
        named = dict(checks())
        results = await asyncio.gather(*(run_check(check) for check in named.values()))
        report = dict(zip(named, results, strict=True))
        ready = all(result == "ok" for result in results)
        if not ready:
            logger.warning("not ready", extra={"checks": report})
        return Response(
            {"status": "ready" if ready else "not ready", "checks": report},
            status_code=200 if ready else 503,
        )

    return [healthz, readyz]
