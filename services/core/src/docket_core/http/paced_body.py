"""Read a request body at a minimum pace, so a client that trickles bytes cannot hold a request open.

The API and the web read upload bodies through :func:`paced`, with the :class:`UploadPace` of their
``UPLOAD_*`` settings. A body that falls behind is cut off with a 408 problem (and ``Connection:
close``, since the rest of it will never be read); a client that goes away mid-body ends the read
with :class:`ClientDisconnectedError`. Either way the caller's ``finally`` blocks run and drop what
was received.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from litestar.types import Receive

from docket_core.contracts import UploadPace
from docket_core.http.problems import Problem
from docket_core.metrics import UPLOAD_REFUSALS


class ClientDisconnectedError(Problem):
    """The client closed the connection before the body was complete; no one reads the answer."""

    def __init__(self) -> None:
        super().__init__(
            400, "The connection closed before the upload was complete.", slug="client-disconnected"
        )


def too_slow(pace: UploadPace) -> Problem:
    return Problem(
        408,
        f"The upload arrived slower than {pace.min_bytes_per_second} bytes per second after the first "
        f"{pace.grace_seconds:g} seconds; it was stopped and nothing was stored.",
        slug="upload-too-slow",
        headers={"Connection": "close"},
    )


def too_long(pace: UploadPace) -> Problem:
    return Problem(
        408,
        f"The upload took longer than {pace.max_seconds:g} seconds; it was stopped and nothing was stored.",
        slug="upload-too-long",
        headers={"Connection": "close"},
    )


async def request_body(receive: Receive) -> AsyncIterator[bytes]:
    """The body's chunks as they arrive from the ASGI server."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            UPLOAD_REFUSALS.labels("disconnected").inc()
            raise ClientDisconnectedError
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def paced(chunks: AsyncIterator[bytes], pace: UploadPace) -> AsyncIterator[bytes]:
    """Pass ``chunks`` on while they keep to ``pace``; raise a 408 problem as soon as they fall behind."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    received = 0
    while True:
        deadline, is_cap = pace.deadline(started, received)
        try:
            async with asyncio.timeout_at(deadline):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        except TimeoutError:
            UPLOAD_REFUSALS.labels("too_long" if is_cap else "too_slow").inc()
            raise (too_long(pace) if is_cap else too_slow(pace)) from None
        received += len(chunk)
        yield chunk
