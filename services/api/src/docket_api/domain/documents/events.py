"""Server-Sent Events for one document's status, fed by the worker over Redis pub/sub."""

from __future__ import annotations

import logging
import typing
from collections.abc import AsyncIterator

from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.response import ServerSentEventMessage
from redis.asyncio.client import PubSub

from docket_core.contracts import (
    DocumentStatus,
    MalformedMessageError,
    StatusEvent,
    decode_status_event,
    encode_status_event,
)
from docket_core.lifecycle import Lifecycle

KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 1.0
logger = logging.getLogger("docket.events")
# What OpenAPI says of each event: `event: status`, its `data` the JSON of a StatusEvent
STATUS_EVENT_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    properties={
        "event": Schema(const="status"),
        "data": Schema(
            type=OpenAPIType.STRING,
            content_media_type="application/json",
            content_schema=Schema(
                type=OpenAPIType.OBJECT,
                properties={
                    "id": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID),
                    "status": Schema(type=OpenAPIType.STRING, enum=list(typing.get_args(DocumentStatus))),
                    "failure_reason": Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL]),
                },
                required=["id", "status"],
            ),
        ),
    },
    required=["event", "data"],
)


def _message(event: StatusEvent) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=encode_status_event(event).decode(), event="status")


async def status_stream(
    pubsub: PubSub, current: StatusEvent, lifecycle: Lifecycle
) -> AsyncIterator[ServerSentEventMessage]:
    """The current status, then each change, until a final state or shutdown."""
    try:
        yield _message(current)
        if current.is_final:
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
            try:
                event = decode_status_event(message["data"])
            except MalformedMessageError as exc:
                logger.warning("ignored a status event: %s", exc, extra={"document_id": str(current.id)})
                continue
            if event.id != current.id:
                logger.warning(
                    "ignored a status event for another document", extra={"document_id": str(current.id)}
                )
                continue
            yield _message(event)
            if event.is_final:
                return
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
