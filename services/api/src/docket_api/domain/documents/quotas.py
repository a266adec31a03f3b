"""Quotas: stored bytes and documents per workspace, and uploads in flight at once per account.

Everything quota-related is here: the keys, the usage query and the lock.

* Stored bytes and documents of a workspace are counted from the ``documents`` rows themselves (no
  counter that could drift). :meth:`Quotas.reserve` runs inside the upload's transaction, right
  before the insert: it takes a transaction-scoped advisory lock on the workspace, so two uploads into
  one workspace are checked one after the other and each sees the other's committed row. The lock is
  held only from the check to the commit (milliseconds); other workspaces never wait on it.
* Uploads in flight are slots in a Redis sorted set per account, shared by every API replica. A slot
  carries an expiry that the upload refreshes while it runs, so a replica that dies mid-upload frees
  its slots within ``SLOT_TTL_SECONDS``. If Redis is down the check is skipped (counted and logged),
  like the rate limiter: the other limits still hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from redis.asyncio import Redis
from redis.exceptions import RedisError

from docket_core.http.problems import Problem
from docket_core.metrics import QUOTA_CHECK_ERRORS, QUOTA_REFUSALS
from docket_core.tables import documents as repo

logger = logging.getLogger("docket.quotas")
SLOT_TTL_SECONDS = 30.0
SLOT_REFRESH_SECONDS = SLOT_TTL_SECONDS / 3
IN_FLIGHT_RETRY_SECONDS = 5

# KEYS[1]: the account's slot set. ARGV: slot id, limit, slot lifetime in ms. Redis's clock, so every
# replica agrees on what has expired. Returns 1 when the slot was taken, 0 when the account is full.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
# Pushes the slot's expiry on, if it is still there.
_REFRESH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 1
"""


def slots_key(owner_id: str) -> str:
    return f"docket:uploads-in-flight:{owner_id}"


@dataclass(frozen=True)
class QuotaLimits:
    stored_bytes: int
    documents: int
    uploads_in_flight: int


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _refuse(quota: str, status: int, detail: str, **members: Any) -> Problem:
    QUOTA_REFUSALS.labels(quota).inc()
    return Problem(status, detail, slug=f"quota-{quota.replace('_', '-')}", **members)


class Quotas:
    def __init__(self, limits: QuotaLimits, redis: Redis) -> None:
        self.limits = limits
        self.redis = redis
        self._held = 0  # slots taken and not yet given back, by this process
        self._none_held = asyncio.Event()
        self._none_held.set()
        self._acquire = redis.register_script(_ACQUIRE)
        self._refresh = redis.register_script(_REFRESH)

    @contextlib.asynccontextmanager
    async def upload_slot(self, owner_id: str) -> AsyncIterator[None]:
        """Hold one of the account's upload slots for the block, or refuse with 429."""
        key, slot = slots_key(owner_id), uuid.uuid4().hex
        ttl_ms = int(SLOT_TTL_SECONDS * 1000)
        try:
            taken = await self._acquire(keys=[key], args=[slot, self.limits.uploads_in_flight, ttl_ms])
        except (RedisError, OSError) as exc:
            QUOTA_CHECK_ERRORS.inc()
            logger.warning("upload slots unavailable, not counting this upload: %s", type(exc).__name__)
            yield
            return
        if not int(taken):
            limit = self.limits.uploads_in_flight
            raise _refuse(
                "uploads_in_flight",
                429,
                f"You already have {limit} uploads in progress, the most at once; "
                "wait for one to finish, then try again.",
                headers={"Retry-After": str(IN_FLIGHT_RETRY_SECONDS)},
                limit=limit,
            )
        keeper = asyncio.create_task(self._keep(key, slot, ttl_ms))
        self._held += 1
        self._none_held.clear()
        try:
            yield
        finally:
            keeper.cancel()
            try:
                with contextlib.suppress(RedisError, OSError):  # the slot expires on its own anyway
                    await self.redis.zrem(key, slot)
            finally:
                self._held -= 1
                if not self._held:
                    self._none_held.set()

    async def all_released(self) -> None:
        """Return once every slot held here was given back. At shutdown uvicorn cancels the uploads
        still running and at once runs the lifespan's end, which closes Redis: without this wait a
        cancelled upload's release raced the close, and its slot stayed taken until it expired."""
        await self._none_held.wait()

    async def _keep(self, key: str, slot: str, ttl_ms: int) -> None:
        while True:
            await asyncio.sleep(SLOT_REFRESH_SECONDS)
            with contextlib.suppress(RedisError, OSError):
                await self._refresh(keys=[key], args=[slot, ttl_ms])

    async def precheck(self, conn: AsyncConnection[Any], workspace_id: uuid.UUID) -> None:
        """Refuse before the file is read when the workspace is already full (saves sending it)."""
        count, used = await repo.usage(conn, workspace_id)
        self._check(count, used, 1)

    async def reserve(self, conn: AsyncConnection[Any], workspace_id: uuid.UUID, size: int) -> None:
        """In the caller's transaction, just before the insert: wait for the workspace's other uploads
        to commit or roll back, then refuse if a document of ``size`` bytes does not fit."""
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('docket.quota'), hashtext(%s))", (str(workspace_id),)
        )
        count, used = await repo.usage(conn, workspace_id)
        self._check(count, used, size)

    def _check(self, count: int, used: int, size: int) -> None:
        limits = self.limits
        if count + 1 > limits.documents:
            raise _refuse(
                "documents",
                403,
                f"This workspace has {count} documents, the most a workspace may keep; "
                "delete some to upload more.",
                limit=limits.documents,
                used=count,
            )
        if used + size > limits.stored_bytes:
            raise _refuse(
                "stored_bytes",
                403,
                f"This file ({_megabytes(size)}) does not fit in the workspace's storage quota of "
                f"{_megabytes(limits.stored_bytes)} ({_megabytes(used)} used); "
                "delete documents to make room.",
                limit=limits.stored_bytes,
                used=used,
            )
