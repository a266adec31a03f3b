"""A deadline on every request body: a minimum rate after a grace period, and an absolute cap.

Without it one client could hold a server connection (and, for an upload, a streamed call to the
API and its spool) open for ever by sending a byte now and then. The rate is measured over the
time spent waiting for the client, so a body the web itself reads slowly (while the API is busy
taking the previous chunk) is never blamed on the client; the cap counts wall-clock time.
"""

from __future__ import annotations

import asyncio
import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from docket_core.http.unread_body import announces_body
from docket_web.server.metrics import REFUSALS


class BodyTooSlowError(Exception):
    """The client sent its request body too slowly, or not in full within the absolute cap."""


class BodyDeadline:
    """The arithmetic of one body's deadline; ``waited`` and ``received`` grow as it arrives."""

    def __init__(self, min_bytes_per_second: int, grace_seconds: float, max_seconds: float) -> None:
        self.min_rate = min_bytes_per_second
        self.grace = grace_seconds
        self.max_seconds = max_seconds
        self.started = time.monotonic()
        self.waited = 0.0
        self.received = 0

    def patience(self) -> float:
        """How long the next wait for the client may last (0 or less: not at all)."""
        by_rate = self.grace + self.received / self.min_rate - self.waited
        by_cap = self.max_seconds - (time.monotonic() - self.started)
        return min(by_rate, by_cap)


class BodyDeadlineMiddleware:
    """Wraps ``receive`` so that waiting past the deadline raises :class:`BodyTooSlowError`."""

    def __init__(
        self, app: ASGIApp, *, min_bytes_per_second: int, grace_seconds: float, max_seconds: float
    ) -> None:
        self.app = app
        self.limits = (min_bytes_per_second, grace_seconds, max_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not announces_body(scope):
            await self.app(scope, receive, send)
            return
        deadline = BodyDeadline(*self.limits)
        done = False

        async def receive_in_time() -> ReceiveMessage:
            nonlocal done
            if done:
                return await receive()
            began = time.monotonic()
            try:
                # a message uvicorn already holds comes back at once, however late it is
                async with asyncio.timeout(max(0.0, deadline.patience())):
                    message = await receive()
            except TimeoutError:
                REFUSALS.labels("body-too-slow").inc()
                raise BodyTooSlowError(
                    f"{deadline.received} bytes in {time.monotonic() - deadline.started:.1f}s"
                ) from None
            finally:
                deadline.waited += time.monotonic() - began
            if message["type"] == "http.request":
                deadline.received += len(message.get("body", b""))
                done = not message.get("more_body", False)
            else:
                done = True
            return message

        await self.app(scope, receive_in_time, send)
