"""A fixed-window rate limiter in Redis: one EVALSHA per request, shared by every replica.

The same script reports whether the caller's access token was revoked at logout, so a request
costs one Redis round trip for both.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from docket_api.domain.auth.denylist import revoked_key

# KEYS[1]: the window counter; KEYS[2]: the revoked-token key (or a key that never exists)
# ARGV[1]: window length in ms
_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
local revoked = redis.call('EXISTS', KEYS[2])
return {count, ttl, revoked}
"""
NEVER_REVOKED_KEY = revoked_key("-")


@dataclass(frozen=True)
class Verdict:
    limit: int
    remaining: int
    reset_seconds: int
    allowed: bool
    token_revoked: bool

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_seconds).encode()),
        ]


class RateLimiter:
    def __init__(self, redis: Redis, window_seconds: int) -> None:
        self.window_ms = window_seconds * 1000
        self._script = redis.register_script(_SCRIPT)

    async def hit(self, bucket: str, limit: int, revoked_key: str | None = None) -> Verdict:
        """Count one request against ``bucket``; raises RedisError when Redis is unreachable."""
        count, ttl_ms, revoked = await self._script(
            keys=[f"docket:rl:{bucket}", revoked_key or NEVER_REVOKED_KEY], args=[self.window_ms]
        )
        count = int(count)
        return Verdict(
            limit=limit,
            remaining=max(limit - count, 0),
            reset_seconds=max((int(ttl_ms) + 999) // 1000, 1),
            allowed=count <= limit,
            token_revoked=bool(revoked),
        )
