"""Read-your-writes routing: list and search go to a streaming replica unless that would hide the
user's own recent writes, and to the primary whenever the replica cannot answer.

After a write commits, whoever made it (the API for a user's request, the worker for a status
change of the user's document) records the primary's WAL insert position as that user's *write
marker* in Redis, for ``READ_YOUR_WRITES_SECONDS``; a marker only ever moves forward. A read of that
user's runs on the replica when the user has no marker, or when the replica has replayed past it
(one comparison on the very connection that then runs the read); otherwise on the primary. So a
lagging, or paused, replica never hides what the user just did, and everyone else keeps reading from
the replica. A timer alone could not promise that: a replica further behind than the window would
still hide the write.

Fail-safe: without Redis the router cannot know, so it reads from the primary; a replica that is
down, refuses connections or runs out of pooled connections sends reads to the primary, and is
not tried again for ``REPLICA_RETRY_SECONDS``. Every decision is counted in ``docket_db_reads_total``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from prometheus_client import Counter
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from redis.asyncio import Redis
from redis.exceptions import RedisError

T = TypeVar("T")
A = TypeVar("A")
Pool = AsyncConnectionPool[AsyncConnection[Any]]
Read = Callable[[AsyncConnection[Any]], Awaitable[T]]

MARKER_PREFIX = "docket:rw-lsn:"
# a replica that failed is left alone this long, so a dead one costs one slow checkout per period
REPLICA_RETRY_SECONDS = 5.0
# how long a read waits for a replica connection before it goes to the primary instead
REPLICA_CHECKOUT_SECONDS = 0.5
# KEYS[1]: the marker; ARGV[1]: the position as 16 hex digits (so string order is numeric order);
# ARGV[2]: the TTL in seconds. An older position never replaces a newer one; either way the TTL restarts.
_KEEP_NEWEST = """
local current = redis.call('GET', KEYS[1])
if (not current) or ARGV[1] > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""

READS = Counter(
    "docket_db_reads_total",
    "List and search reads by where they ran (replica or primary) and why",
    ["target", "reason"],
)
WRITE_MARKER_ERRORS = Counter(
    "docket_db_write_marker_errors_total",
    "Write markers not recorded (the primary or Redis failed); that user's next reads may be stale",
)
logger = logging.getLogger("docket.db.reads")


async def wal_position(conn: AsyncConnection[Any]) -> int:
    """The primary's WAL insert position in bytes: at or past every transaction committed before it."""
    cur = await conn.execute("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS position")
    row = await cur.fetchone()
    assert row is not None
    return int(row["position"] if isinstance(row, dict) else row[0])


class WriteMarkers:
    """Each user's newest write position, in Redis, for ``ttl_seconds`` after their last write."""

    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.ttl_seconds = ttl_seconds
        self.redis = redis
        self._keep_newest = redis.register_script(_KEEP_NEWEST)

    async def record(self, user_id: str, position: int) -> None:
        await self._keep_newest(keys=[MARKER_PREFIX + user_id], args=[f"{position:016x}", self.ttl_seconds])

    async def get(self, user_id: str) -> int | None:
        raw = await self.redis.get(MARKER_PREFIX + user_id)
        return int(raw, 16) if raw else None


async def record_write(conn: AsyncConnection[Any], markers: WriteMarkers, user_id: str) -> None:
    """After the user's write has committed: remember where the primary's WAL is now.

    ``conn`` is a connection to the primary outside the write's transaction. Failures are logged and
    counted, never raised: the write itself has succeeded.
    """
    try:
        await markers.record(user_id, await wal_position(conn))
    except (psycopg.Error, RedisError, OSError) as exc:
        WRITE_MARKER_ERRORS.inc()
        logger.warning("could not record a write marker: %s", type(exc).__name__)


class ReadRouter:
    """Runs a user's list and search reads where they are both fresh enough and cheapest."""

    def __init__(
        self, primary: Pool, replica: Pool | None = None, markers: WriteMarkers | None = None
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.markers = markers
        self._replica_retry_at = 0.0

    @property
    def primary_only(self) -> bool:
        """Whether every read goes to the primary (no ``DATABASE_READ_URL``)."""
        return self.replica is None

    async def close(self) -> None:
        """Close the replica's pool (the primary's belongs to its creator)."""
        if self.replica is not None:
            await self.replica.close()

    async def record_write(self, user_id: str) -> None:
        """Called once a write of ``user_id``'s has committed (a no-op without a replica)."""
        if self.replica is None or self.markers is None:
            return
        try:
            async with self.primary.connection() as conn:
                await record_write(conn, self.markers, user_id)
        except (psycopg.Error, PoolTimeout) as exc:
            WRITE_MARKER_ERRORS.inc()
            logger.warning("could not record a write marker: %s", type(exc).__name__)

    async def run(self, user_id: str, read: Read[T]) -> T:
        """``read(conn)`` on the replica when it has replayed the user's last write, else on the primary."""
        if self.replica is None:
            return await self._on_primary(read, "no_replica")
        if time.monotonic() < self._replica_retry_at:
            return await self._on_primary(read, "replica_unavailable")
        marker: int | None = None
        if self.markers is not None:
            try:
                marker = await self.markers.get(user_id)
            except (RedisError, OSError) as exc:
                logger.warning("write markers unavailable, reading from the primary: %s", type(exc).__name__)
                return await self._on_primary(read, "marker_unavailable")
        try:
            async with self.replica.connection(timeout=REPLICA_CHECKOUT_SECONDS) as conn:
                if marker is None or await _replayed(conn, marker):
                    result = await read(conn)
                    READS.labels("replica", "replayed" if marker is not None else "no_recent_write").inc()
                    return result
        except psycopg.errors.QueryCanceled:
            raise  # the read itself was too slow; running it again on the primary would not help
        except psycopg.errors.SerializationFailure:
            # replay cancelled the read (a conflict with recovery): the primary has no such conflicts
            return await self._on_primary(read, "recovery_conflict")
        except (psycopg.OperationalError, PoolTimeout) as exc:
            self._replica_retry_at = time.monotonic() + REPLICA_RETRY_SECONDS
            logger.warning("replica unavailable, reading from the primary: %s", type(exc).__name__)
            return await self._on_primary(read, "replica_unavailable")
        return await self._on_primary(read, "not_replayed")

    async def run_after(
        self,
        user_id: str,
        first: Callable[[AsyncConnection[Any]], Awaitable[A]],
        read: Callable[[AsyncConnection[Any], A], Awaitable[T]],
    ) -> T:
        """``first(conn)`` on the primary (such as a membership check), then ``read(conn, its result)``
        where :meth:`run` would run it. Without a replica both share one checkout of the primary."""
        if self.replica is None:
            async with self.primary.connection() as conn:
                result = await read(conn, await first(conn))
            READS.labels("primary", "no_replica").inc()
            return result
        async with self.primary.connection() as conn:
            found = await first(conn)
        return await self.run(user_id, lambda conn: read(conn, found))

    async def _on_primary(self, read: Read[T], reason: str) -> T:
        async with self.primary.connection() as conn:
            result = await read(conn)
        READS.labels("primary", reason).inc()
        return result


async def _replayed(conn: AsyncConnection[Any], position: int) -> bool:
    # NULL on a server that is not a standby: it cannot vouch for the primary's writes
    cur = await conn.execute(
        "SELECT coalesce((pg_last_wal_replay_lsn() - '0/0'::pg_lsn) >= %s, false) AS replayed", (position,)
    )
    row = await cur.fetchone()
    assert row is not None
    return bool(row["replayed"] if isinstance(row, dict) else row[0])
