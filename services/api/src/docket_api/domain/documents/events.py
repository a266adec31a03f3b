"""Server-Sent Events for one document's status, fed by the worker over Redis pub/sub."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar.response import ServerSentEventMessage
from redis.asyncio.client import PubSub

from docket_core.contracts import FINAL_STATUSES
from docket_core.lifecycle import Lifecycle

KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 1.0
logger = logging.getLogger("docket.events")


def _message(payload: dict[str, Any]) -> ServerSentEventMessage:
    body = {
        "id": str(payload["id"]),
        "status": payload["status"],
        "failure_reason": payload.get("failure_reason"),
    }
    return ServerSentEventMessage(data=msgspec.json.encode(body).decode(), event="status")


async def status_stream(
    pubsub: PubSub, current: dict[str, Any], lifecycle: Lifecycle
) -> AsyncIterator[ServerSentEventMessage]:
    """The current status, then each change, until a final state or shutdown."""
    try:
        yield _message(current)
        if current["status"] in FINAL_STATUSES:
            return
        idle = 0.0
        while not lifecycle.draining:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_SECONDS)
            if message is None:
                idle += POLL_SECONDS
                if idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield ServerSentEventMessage(comment="keep-alive")
                continue
            idle = 0.0
            payload = msgspec.json.decode(message["data"])
            yield _message(payload)
            if payload["status"] in FINAL_STATUSES:
                return
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
