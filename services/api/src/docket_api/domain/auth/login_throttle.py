"""Failed-login budgets in Redis, per account and per client, counted before the password is checked.

Every attempt is counted first, in one atomic script, and only then decided: parallel guesses cannot
all slip past a check that reads the count before any of them has added to it. A client over its
budget is refused without touching the account's count, so one client cannot lock many accounts
out; an account over its budget is refused before its password is hashed. A successful login
clears the account's count and takes its own attempt back off the client's count, so only failures
stay counted. When Redis is down the throttle lets attempts through (counted in
docket_rate_limiter_errors_total): password hashing, capped per process, still bounds their rate.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from docket_api.domain.auth.metrics import LOGIN_THROTTLE_REJECTIONS
from docket_core.http.client_ip import client_bucket
from docket_core.http.problems import Problem
from docket_core.metrics import RATE_LIMITER_ERRORS

logger = logging.getLogger("docket.auth")
PREFIX = "docket:login-failures:"

# KEYS[1]: the client's count, KEYS[2]: the account's count
# ARGV[1]: window in ms, ARGV[2]: the client's budget, ARGV[3]: the account's budget
# Returns {0, 0} to go on, {1, ms} when the client is over budget, {2, ms} when the account is.
_BEGIN = """
local function count(key)
  local n = redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ARGV[1]) end
  return n
end
if count(KEYS[1]) > tonumber(ARGV[2]) then return {1, redis.call('PTTL', KEYS[1])} end
if count(KEYS[2]) > tonumber(ARGV[3]) then return {2, redis.call('PTTL', KEYS[2])} end
return {0, 0}
"""
# KEYS as above: the account starts afresh, the client's own attempt no longer counts
_SUCCEEDED = """
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 0
"""


# what _BEGIN's first answer means: the metric's label, the problem's detail and its slug
_REFUSALS = {
    1: ("client", "Too many failed logins from your network; try again later.", "login-throttled"),
    2: ("account", "Too many failed logins for this account; try again later.", "login-locked"),
}


@dataclass(frozen=True)
class Attempt:
    """The Redis keys one login attempt was counted under."""

    client_key: str
    account_key: str


def account_key(user_id: str | None, email_key: str) -> str:
    """The account's count: its id once found, else the normalised email (hashed, so Redis never holds it)."""
    if user_id is not None:
        return f"{PREFIX}user:{user_id}"
    return f"{PREFIX}email:" + hashlib.sha256(email_key.encode()).hexdigest()


def client_key(address: str) -> str:
    """The client's count: its address, or its /64 for IPv6 (as the rate limiter buckets it)."""
    return f"{PREFIX}client:{client_bucket(address)}"


class LoginThrottle:
    def __init__(
        self, redis: Redis, max_failures: int, client_max_failures: int, window_seconds: int
    ) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.client_max_failures = client_max_failures
        self.window_ms = window_seconds * 1000
        self._begin = redis.register_script(_BEGIN)
        self._succeeded = redis.register_script(_SUCCEEDED)

    async def begin(self, client_address: str, user_id: str | None, email_key: str) -> Attempt:
        """Count this attempt; raise 429 when the client or the account is over its budget."""
        attempt = Attempt(client_key(client_address), account_key(user_id, email_key))
        try:
            over, ttl_ms = await self._begin(
                keys=[attempt.client_key, attempt.account_key],
                args=[self.window_ms, self.client_max_failures, self.max_failures],
            )
        except (RedisError, OSError):
            RATE_LIMITER_ERRORS.inc()
            logger.warning("login throttle unavailable (Redis); allowing the attempt")
            return attempt
        if int(over) == 0:
            return attempt
        label, detail, slug = _REFUSALS[int(over)]
        LOGIN_THROTTLE_REJECTIONS.labels(label).inc()
        retry_after = str(max((int(ttl_ms) + 999) // 1000, 1))
        raise Problem(429, detail, slug=slug, headers={"Retry-After": retry_after})

    async def succeeded(self, attempt: Attempt) -> None:
        """Clear the account's failures and take this attempt back off the client's count."""
        try:
            await self._succeeded(keys=[attempt.client_key, attempt.account_key])
        except (RedisError, OSError):
            RATE_LIMITER_ERRORS.inc()
