"""The Redis client: one server (``REDIS_URL``), or the master of a Sentinel-managed group.

With ``REDIS_SENTINELS`` set, the client asks the Sentinels which server is the master of
``REDIS_SENTINEL_MASTER`` before it connects, and asks again whenever a connection fails or the
server it reaches has become a replica, so it follows a failover by itself. ``REDIS_URL`` then gives
only the password, user, database number and TLS (``rediss://``); its host is not used. The Sentinels
are sent the same credentials, as Sentinel groups that require a password usually share it.

Timeouts and a short retry bound every command, so a dead Redis cannot hang a request: the callers
(the rate limiter, live events) fail open or retry on their own terms.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff

from docket_core.settings import CommonSettings, sentinel_address

# a command is tried at most three times, 50 ms then 100 ms apart, before its error reaches the caller
RETRIES = 2
RETRY_BASE_SECONDS = 0.05
RETRY_CAP_SECONDS = 0.5
HEALTH_CHECK_SECONDS = 30


def create_redis(settings: CommonSettings) -> Redis:
    """Build the service's Redis client; it connects lazily and is closed in lifespan."""
    options: dict[str, Any] = {
        "socket_connect_timeout": settings.redis_connect_timeout,
        "socket_timeout": settings.redis_socket_timeout,
        "health_check_interval": HEALTH_CHECK_SECONDS,
        "decode_responses": False,
        "retry": Retry(ExponentialBackoff(cap=RETRY_CAP_SECONDS, base=RETRY_BASE_SECONDS), RETRIES),
    }
    if not settings.redis_sentinels:
        return Redis.from_url(settings.redis_url, **options)
    return _sentinel_master(settings, options)


class SentinelMaster(Redis):
    """The master's client; closing it also closes its connections to the Sentinels."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinels is not None:
            await self.sentinels.aclose()


def _sentinel_master(settings: CommonSettings, options: dict[str, Any]) -> Redis:
    server = {k: v for k, v in parse_url(settings.redis_url).items() if k not in ("host", "port", "path")}
    if server.pop("connection_class", None) is SSLConnection:
        server["ssl"] = True
    credentials = {k: server[k] for k in ("username", "password") if server.get(k)}
    sentinels = Sentinel(  # type: ignore[no-untyped-call]
        [sentinel_address(address) for address in settings.redis_sentinels],
        sentinel_kwargs={
            "socket_connect_timeout": settings.redis_connect_timeout,
            "socket_timeout": settings.redis_socket_timeout,
            **credentials,
        },
        **server,
        **options,
    )
    client: SentinelMaster = sentinels.master_for(settings.redis_sentinel_master, redis_class=SentinelMaster)
    client.sentinels = sentinels
    return client
