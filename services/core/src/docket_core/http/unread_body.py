"""An answer given before the request body was read: drain a little of the body, else close.

When a server answers early (403, a sign-in redirect, 413, 408) and keeps the connection alive,
uvicorn reads the rest of the body and throws it away, however large: an anonymous client could make
it swallow any amount of data after being told no. Closing at once is no better for honest clients:
a socket closed with unread data sends a TCP reset, and most clients lose the answer in it.

So, as nginx's lingering close does: before an early answer goes out, up to ``LINGER_BYTES`` of the
rest of the body are read and dropped, for at most ``LINGER_SECONDS``. A body that ends within that
keeps its connection; a longer or slower one gets ``Connection: close``, and uvicorn closes the
socket right after the answer.
"""

from __future__ import annotations

import asyncio
import contextlib

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

LINGER_BYTES = 512 * 1024
LINGER_SECONDS = 1.0


def announces_body(scope: Scope) -> bool:
    """Whether the request's headers say a body follows (a length above 0, or chunked encoding)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
    return False


class CloseUnreadBodyMiddleware:
    """Drains a little of a body left unread by an early answer, and closes the connection if more remains."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not announces_body(scope):
            await self.app(scope, receive, send)
            return
        unread = True

        async def tracking_receive() -> ReceiveMessage:
            nonlocal unread
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                unread = False
            return message

        async def drain() -> None:
            dropped = 0
            while unread and dropped < LINGER_BYTES:
                message = await tracking_receive()
                if message["type"] == "http.request":
                    dropped += len(message["body"])

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and unread:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LINGER_SECONDS):
                        await drain()
                if unread:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}  # type: ignore[typeddict-item]
            await send(message)

        await self.app(scope, tracking_receive, closing_send)
