"""Access tokens revoked at logout, kept in Redis until they would have expired anyway.

The gate asks on every authenticated request, whether or not the rate limiter is on (with it on,
the limiter's script answers in the same round trip). When Redis cannot answer, authenticated
requests fail closed with 503: a token that was logged out must not work again just because Redis
is down. Anonymous requests go on (the limiter fails open).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from docket_api.domain.auth.tokens import Principal
from docket_core.http.problems import Problem

PREFIX = "docket:revoked-jti:"
RETRY_AFTER_SECONDS = 5


class RevocationUnknownError(Exception):
    """Redis could not say whether the access token was revoked."""


def revoked_key(token_id: str) -> str:
    return PREFIX + token_id


def revocation_unknown() -> Problem:
    """The 503 for a request whose token's revocation could not be checked (or recorded)."""
    return Problem(
        503,
        "Sign-in state cannot be checked right now; try again shortly.",
        slug="token-check-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def is_revoked(redis: Redis, token_id: str) -> bool:
    """Whether the token was logged out; raises :class:`RevocationUnknownError` when Redis cannot say."""
    try:
        return bool(await redis.exists(revoked_key(token_id)))
    except (RedisError, OSError) as exc:
        raise RevocationUnknownError from exc


async def revoke(redis: Redis, principal: Principal) -> None:
    """Deny the access token until it expires; 503 when Redis cannot record it (logout is safe to retry)."""
    ttl = principal.expires_at - int(time.time())
    if ttl <= 0:
        return
    try:
        await redis.set(revoked_key(principal.token_id), b"1", ex=ttl)
    except (RedisError, OSError):
        raise revocation_unknown() from None
