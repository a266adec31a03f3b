"""The Redis client, with connect and socket timeouts so a dead Redis cannot hang a request."""

from __future__ import annotations

from redis.asyncio import Redis

from docket_core.settings import CommonSettings


def create_redis(settings: CommonSettings) -> Redis:
    """Build the service's Redis client; it connects lazily and is closed in lifespan."""
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_connect_timeout,
        socket_timeout=settings.redis_socket_timeout,
        health_check_interval=30,
        decode_responses=False,
    )
