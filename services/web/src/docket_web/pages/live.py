"""``/events``: the API's per-document status streams, merged into one same-origin SSE stream.

A browser keeps only about six HTTP/1.1 connections per site, so a page with many pending documents must
not open one EventSource each. The web follows each document's API stream itself (over its pooled
connections) and forwards every status change on one stream, which ends with an ``end`` event once every
document is ready or failed; the script closes it then, so EventSource does not reconnect. A document's
API stream that ends early is followed again, so a replaced API pod does not freeze the page.
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
# an API stream that ends early is followed again after 1, 2, 4, 5, 5… seconds, at most 8 times in a row
REFOLLOW_BASE_SECONDS = 1.0
REFOLLOW_CAP_SECONDS = 5.0
MAX_REFOLLOWS = 8
logger = logging.getLogger("docket.web.events")


def _frame(event: str, data: bytes) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


async def _follow(
    api: Api, document_id: uuid.UUID, queue: asyncio.Queue[StatusEvent | None], lifecycle: Lifecycle
) -> None:
    """Put each status change of one document on ``queue`` until it is final, then ``None``.

    An API stream that ends before a final status (its pod replaced or draining, the network cut) is
    followed again after a pause, up to ``MAX_REFOLLOWS`` times in a row; its first event repeats the
    current status, which is passed on only if it changed. A 4xx other than 429 ends the following.
    """
    last: StatusEvent | None = None
    failures = 0
    try:
        while not lifecycle.draining:
            try:
                async with api.stream("GET", f"/api/v1/documents/{document_id}/events") as response:
                    if response.status_code == 200:
                        async for event in _status_events(response):
                            failures = 0
                            if event != last:
                                last = event
                                await queue.put(event)
                            if event.is_final:
                                return
                    elif response.status_code != 429 and response.status_code < 500:
                        return  # deleted, or not the user's: nothing more will come
            except SignInRequiredError:
                return
            except (ApiUnavailableError, httpx.HTTPError) as exc:
                logger.info("status stream of %s cut: %s", document_id, type(exc).__name__)
            failures += 1
            if failures > MAX_REFOLLOWS:
                logger.info("status stream of %s given up after %d tries", document_id, failures)
                return
            await asyncio.sleep(min(REFOLLOW_BASE_SECONDS * 2 ** (failures - 1), REFOLLOW_CAP_SECONDS))
    finally:
        await queue.put(None)


async def _status_events(response: httpx.Response) -> AsyncIterator[StatusEvent]:
    """The ``status`` events of an SSE response, as they arrive."""
    event, data = "message", []
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line:
            if event == "status" and data:
                with contextlib.suppress(MalformedMessageError):
                    yield decode_status_event("\n".join(data))
            event, data = "message", []


async def merged_statuses(api: Api, ids: list[uuid.UUID], lifecycle: Lifecycle) -> AsyncIterator[bytes]:
    """SSE frames: every document's status changes, then ``end``; stops early when shutdown begins."""
    queue: asyncio.Queue[StatusEvent | None] = asyncio.Queue()
    tasks = [asyncio.create_task(_follow(api, document_id, queue, lifecycle)) for document_id in ids]
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
