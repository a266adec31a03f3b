"""``/healthz`` (liveness: the process answers) and ``/readyz`` (readiness: dependencies answer).

A probe's body names each check and says only ``ok``, ``busy``, ``slow``, ``failed`` or ``timed out``:
whoever can reach a probe learns nothing about hosts, versions or errors. Why a check failed goes to
the log.

A check that times out within SLOW_GRACE_SECONDS of its last pass is ``slow`` and still ready. Every
replica checks the same dependencies, so on a node whose CPU is taken (a rollout starting new
processes beside the load) all of them would time out together and leave their Service with no
endpoint at all: one busy moment became an outage in the cluster rehearsal. A dependency that is down
refuses or errors, which is ``failed`` and not ready at once; one that hangs stays ``timed out`` past
the grace and the replica leaves then.

A check that raises ``BusyError`` found its dependency working but its own turn slow (a pool
that kept lending to requests while the check waited): that is load, not a fault, and ``busy`` is
ready. Sending a busy replica's traffic to its equally busy peers would only make them busier.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from docket_core.lifecycle import Lifecycle

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 1.0
SLOW_GRACE_SECONDS = 10.0
OK: Final = "ok"
BUSY: Final = "busy"
SLOW: Final = "slow"
FAILED: Final = "failed"
TIMED_OUT: Final = "timed out"
logger = logging.getLogger("docket.health")


class BusyError(Exception):
    """Raised by a check whose dependency answered others while the check waited its turn."""


async def run_check(name: str, check: Check, limit: float = CHECK_TIMEOUT_SECONDS) -> str:
    """Run one readiness check: ``ok``, ``busy``, ``failed`` or ``timed out``; failures are logged."""
    try:
        async with asyncio.timeout(limit):
            await check()
    except BusyError as busy:
        logger.info("readiness check %s: busy (%s)", name, busy)
        return BUSY
    except TimeoutError:
        logger.warning("readiness check %s timed out after %gs", name, limit)
        return TIMED_OUT
    except Exception as exc:  # any failure means not ready; the reason goes to the log, never the body
        logger.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, str(exc)[:500])
        return FAILED
    return OK


def health_handlers(
    lifecycle: Lifecycle, checks: Callable[[], Mapping[str, Check]], slow_grace: float = SLOW_GRACE_SECONDS
) -> list[HTTPRouteHandler]:
    """Build the two probe handlers; ``checks`` is called per request so it can read app state."""
    last_passed: dict[str, float] = {}

    def judge(name: str, result: str) -> str:
        now = time.monotonic()
        if result in (OK, BUSY):
            last_passed[name] = now
        elif result == TIMED_OUT and now - last_passed.get(name, -math.inf) < slow_grace:
            return SLOW
        return result

    @get("/healthz", include_in_schema=False, sync_to_thread=False, cache_control=None)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", include_in_schema=False)
    async def readyz() -> Response[dict[str, Any]]:
        if lifecycle.draining:
            return Response({"status": "shutting down", "checks": {}}, status_code=503)
        named = dict(checks())
        results = await asyncio.gather(*(run_check(name, check) for name, check in named.items()))
        report = {name: judge(name, result) for name, result in zip(named, results, strict=True)}
        ready = all(result in (OK, BUSY, SLOW) for result in report.values())
        return Response(
            {"status": "ready" if ready else "not ready", "checks": report},
            status_code=200 if ready else 503,
        )

    return [healthz, readyz]
