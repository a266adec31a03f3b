"""``/events``: the API's per-document status streams, merged into one same-origin SSE stream.

A browser keeps only about six HTTP/1.1 connections per site, so a page with many pending documents must
not open one EventSource each. The web follows each document's API stream itself (over its pooled
connections) and forwards every status change on one stream, which ends with an ``end`` event once every
document is ready or failed; the script closes it then, so EventSource does not reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from litestar import get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from litestar.response import Stream

from docket_core.contracts import MalformedMessageError, StatusEvent, decode_status_event, encode_status_event
from docket_core.lifecycle import Lifecycle
from docket_web.server.api import Api, ApiUnavailableError, SignInRequiredError
from docket_web.server.render import AnyRequest, provide_api

MAX_DOCUMENTS = 50
KEEPALIVE_SECONDS = 15.0
TICK_SECONDS = 1.0
logger = logging.getLogger("docket.web.events")


def _frame(event: str, data: bytes) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


async def _follow(api: Api, document_id: uuid.UUID, queue: asyncio.Queue[StatusEvent | None]) -> None:
    """Put each status event of one document on ``queue``, then ``None`` when its stream is over."""
    try:
        async with api.stream("GET", f"/api/v1/documents/{document_id}/events") as response:
            if response.status_code != 200:
                return
            event, data = "message", []
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif not line:
                    if event == "status" and data:
                        with contextlib.suppress(MalformedMessageError):
                            await queue.put(decode_status_event("\n".join(data)))
                    event, data = "message", []
    except (ApiUnavailableError, SignInRequiredError, httpx.HTTPError) as exc:
        logger.info("status stream of %s ended early: %s", document_id, type(exc).__name__)
    finally:
        await queue.put(None)


async def merged_statuses(api: Api, ids: list[uuid.UUID], lifecycle: Lifecycle) -> AsyncIterator[bytes]:
    """SSE frames: every document's status changes, then ``end``; stops early when shutdown begins."""
    queue: asyncio.Queue[StatusEvent | None] = asyncio.Queue()
    tasks = [asyncio.create_task(_follow(api, document_id, queue)) for document_id in ids]
    open_streams, idle = len(tasks), 0.0
    try:
        yield b"retry: 5000\n\n"
        while open_streams and not lifecycle.draining:
            try:
                item = await asyncio.wait_for(queue.get(), TICK_SECONDS)
            except TimeoutError:
                idle += TICK_SECONDS
                if idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield b": keep-alive\n\n"
                continue
            idle = 0.0
            if item is None:
                open_streams -= 1
            else:
                yield _frame("status", encode_status_event(item))
        yield _frame("end", b"{}")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@get("/events", dependencies={"api": Provide(provide_api)})
async def status_events(
    request: AnyRequest,
    api: NamedDependency[Api],
    document_ids: Annotated[list[uuid.UUID], QueryParameter(name="id", min_items=1, max_items=MAX_DOCUMENTS)],
) -> Stream:
    """Live status of up to 50 of the user's documents, as Server-Sent Events."""
    api.require_session()
    unique = list(dict.fromkeys(document_ids))
    return Stream(
        merged_statuses(api, unique, request.app.state.lifecycle),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"},
    )
