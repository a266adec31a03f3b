"""Server-Sent Events for one document's status, fed by the worker over Redis pub/sub.

The stream outlives a Redis failover. When the subscription fails, the stream keeps its client with
keep-alives and subscribes again every second (the Redis client finds the new master through the
Sentinels). Events published while nobody listened are lost to pub/sub, so each time Redis confirms
a subscription after the first, the stream reads the status from the database and sends it if it
changed: the client misses no final state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import typing
from collections.abc import AsyncIterator, Awaitable, Callable

from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.response import ServerSentEventMessage
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from docket_core.contracts import (
    DocumentStatus,
    MalformedMessageError,
    StatusEvent,
    decode_status_event,
    encode_status_event,
)
from docket_core.http.problems import Problem
from docket_core.lifecycle import Lifecycle

KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 1.0
RETRY_AFTER_SECONDS = 2
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
SUBSCRIPTIONS_LOST = Counter(
    "docket_sse_subscriptions_lost_total",
    "Live status streams whose Redis subscription failed (then retried)",
)


def _message(event: StatusEvent) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=encode_status_event(event).decode(), event="status")


def live_status_unavailable() -> Problem:
    return Problem(
        503,
        "Live status is unavailable for a moment (Redis is failing over); retry shortly.",
        slug="live-status-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def subscribe(redis: Redis, channel: str) -> PubSub:
    """A pub/sub connection subscribed to ``channel``; raises RedisError when Redis cannot be reached."""
    pubsub = redis.pubsub()
    try:
        await pubsub.subscribe(channel)
    except BaseException:
        await _close(pubsub)
        raise
    return pubsub


async def _close(pubsub: PubSub) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def status_stream(
    redis: Redis,
    channel: str,
    pubsub: PubSub,
    current: StatusEvent,
    read_status: Callable[[], Awaitable[StatusEvent]],
    lifecycle: Lifecycle,
) -> AsyncIterator[ServerSentEventMessage]:
    """The current status, then each change, until a final state or shutdown.

    ``pubsub`` is already subscribed to ``channel`` and ``current`` was read after that; ``read_status``
    reads the status again after a re-subscription.
    """
    listening: PubSub | None = pubsub
    confirmations = 0
    try:
        yield _message(current)
        if current.is_final:
            return
        idle = 0.0
        while not lifecycle.draining:
            if listening is None:
                await asyncio.sleep(POLL_SECONDS)
                with contextlib.suppress(RedisError, OSError):
                    listening = await subscribe(redis, channel)
                message = None
            else:
                try:
                    message = await listening.get_message(timeout=POLL_SECONDS)
                except (RedisError, OSError) as exc:
                    SUBSCRIPTIONS_LOST.inc()
                    logger.warning("status subscription lost, subscribing again: %s", type(exc).__name__)
                    await _close(listening)
                    listening, message = None, None
            if message is None:
                idle += POLL_SECONDS
                if idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield ServerSentEventMessage(comment="keep-alive")
                continue
            idle = 0.0
            if message["type"] == "subscribe":
                confirmations += 1
                if confirmations == 1:
                    continue
                try:  # subscribed again: catch up on whatever was published in between
                    event = await read_status()
                except Problem:
                    return  # deleted meanwhile
                if event != current:
                    current = event
                    yield _message(event)
                    if event.is_final:
                        return
                continue
            if message["type"] != "message":
                continue
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
            current = event
            yield _message(event)
            if event.is_final:
                return
    finally:
        if listening is not None:
            await _close(listening)
