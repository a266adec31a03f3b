"""Failed-login counting per account in Redis: after N failures in the window, logins get 429."""

from __future__ import annotations

import hashlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from docket_core.metrics import RATE_LIMITER_ERRORS

logger = logging.getLogger("docket.auth")


class LoginThrottle:
    def __init__(self, redis: Redis, max_failures: int, window_seconds: int) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.window_seconds = window_seconds

    @staticmethod
    def _key(email: str) -> str:
        # hashed, so Redis never holds the address itself
        return "docket:login-failures:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()

    async def retry_after(self, email: str) -> int | None:
        """Seconds until the account may try again, or None if it is not locked."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(self._key(email))
                pipe.ttl(self._key(email))
                count, ttl = await pipe.execute()
        except RedisError:
            RATE_LIMITER_ERRORS.inc()
            logger.warning("login throttle unavailable (Redis); allowing the attempt")
            return None
        if count is not None and int(count) >= self.max_failures:
            return max(int(ttl), 1)
        return None

    async def record_failure(self, email: str) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                # SET NX then INCR starts the window on the first failure (EXPIRE NX needs Redis 7)
                pipe.set(self._key(email), 0, ex=self.window_seconds, nx=True)
                pipe.incr(self._key(email))
                await pipe.execute()
        except RedisError:
            RATE_LIMITER_ERRORS.inc()

    async def reset(self, email: str) -> None:
        try:
            await self.redis.delete(self._key(email))
        except RedisError:
            RATE_LIMITER_ERRORS.inc()
