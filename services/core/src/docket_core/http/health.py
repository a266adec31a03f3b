"""``/healthz`` (liveness: the process answers) and ``/readyz`` (readiness: dependencies answer).

A probe's body names each check and says only ``ok``, ``failed`` or ``timed out``: whoever can reach a
probe learns nothing about hosts, versions or errors. Why a check failed goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from docket_core.lifecycle import Lifecycle

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 1.0
OK: Final = "ok"
FAILED: Final = "failed"
TIMED_OUT: Final = "timed out"
logger = logging.getLogger("docket.health")


async def run_check(name: str, check: Check, limit: float = CHECK_TIMEOUT_SECONDS) -> str:
    """Run one readiness check: ``ok``, ``failed`` or ``timed out``; a failure's reason is logged."""
    try:
        async with asyncio.timeout(limit):
            await check()
    except TimeoutError:
        logger.warning("readiness check %s timed out after %gs", name, limit)
        return TIMED_OUT
    except Exception as exc:  # any failure means not ready; the reason goes to the log, never the body
        logger.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, str(exc)[:500])
        return FAILED
    return OK


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
        results = await asyncio.gather(*(run_check(name, check) for name, check in named.items()))
        report = dict(zip(named, results, strict=True))
        ready = all(result == OK for result in results)
        return Response(
            {"status": "ready" if ready else "not ready", "checks": report},
            status_code=200 if ready else 503,
        )

    return [healthz, readyz]
