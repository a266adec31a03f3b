"""The PostgreSQL connection pools (psycopg 3), created closed and opened in lifespan.

``DATABASE_POOLER`` says what ``DATABASE_URL`` (and the API's ``DATABASE_READ_URL``) lead to:

- ``none``: PostgreSQL itself. Each connection carries its timeouts as start-up options, set once for
  its whole session, and psycopg prepares a statement server-side once it has run a few times.
- ``transaction``: a transaction-mode pooler (PgBouncer, CloudNativePG's Pooler), where one server
  session serves many clients, a transaction at a time. Nothing may outlive a transaction there:
  PgBouncer refuses start-up options (and would not carry them to the server sessions it shares), so
  every checkout begins its transaction with the timeouts as ``SET LOCAL`` (one round trip, which
  also proves the connection alive after a failover); and statements are never prepared server-side,
  since the next transaction may run on a server session that does not hold them.

Session-level features stay off the pooled connections altogether: ``LISTEN`` (the worker's listener
connects to ``DATABASE_LISTEN_URL``) and session advisory locks (migrations and backups connect to
the primary directly). docs/configuration.md explains the choice for operators.
"""

from __future__ import annotations

import contextlib
import select
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from docket_core.settings import CommonSettings

Pool = AsyncConnectionPool[AsyncConnection[Any]]
# one constant statement for any number of settings; is_local=true is SET LOCAL: gone at commit
_SET_LOCAL = "SELECT set_config(name, value, true) FROM unnest(%s::text[], %s::text[]) AS s(name, value)"


def session_settings(settings: CommonSettings) -> dict[str, str]:
    """The server settings every pooled connection works under.

    ``idle_in_transaction_session_timeout`` ends a session that holds a transaction open while it
    waits on something other than the database (a slow client, a stuck task): its locks and its
    snapshot go, and the pool discards the broken connection when it comes back. ``plan_cache_mode``
    decides whether a prepared statement is planned again for each execution's values; only
    statements psycopg prepared (never through a transaction pooler) have a plan to keep.
    """
    return {
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.db_idle_in_transaction_timeout_ms),
        "plan_cache_mode": settings.db_plan_cache_mode,
    }


def create_pool(settings: CommonSettings, application_name: str, conninfo: str | None = None) -> Pool:
    """Build a pool to ``conninfo`` (default ``DATABASE_URL``); call ``await pool.open()`` in lifespan."""
    server = session_settings(settings)
    kwargs: dict[str, Any] = {"application_name": application_name, "row_factory": dict_row}
    # A pooled connection the server has ended (PostgreSQL restarted or failed over, an admin's
    # pg_terminate_backend) would be lent out once per pooled slot and fail its request; checked on
    # checkout, it is replaced instead. The check costs a round trip only when there is a reason to
    # doubt the connection (see check_if_suspect).
    check: Callable[[AsyncConnection[Any]], Awaitable[None]] | None = check_if_suspect
    if settings.database_pooler == "transaction":
        kwargs["prepare_threshold"] = None
        check = _begin_with(server)
    else:
        kwargs["options"] = " ".join(f"-c {name}={value}" for name, value in server.items())
    return AsyncConnectionPool(
        conninfo or settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout,
        open=False,
        name=application_name,
        check=check,
        reset=_stamp_returned,
        kwargs=kwargs,
    )


# A connection idle longer than this gets the full round-trip check on checkout, whatever its socket
# says (a peer that vanished without closing, such as a partitioned node).
IDLE_CHECK_SECONDS = 5.0
_returned_at: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()


def checkouts_granted(pool: Pool) -> int:
    """How many connection requests the pool has granted so far (its counters are never popped here)."""
    stats = pool.get_stats()
    # a request counts once asked; a waiting one is not granted yet, a timed-out one never was
    return stats.get("requests_num", 0) - stats.get("requests_errors", 0) - stats.get("requests_waiting", 0)


async def _stamp_returned(conn: AsyncConnection[Any]) -> None:
    _returned_at[conn] = time.monotonic()


async def check_if_suspect(conn: AsyncConnection[Any]) -> None:
    """Check a connection on checkout with a round trip only if it may be dead; raise if it is.

    An idle pooled connection has nothing to read: PostgreSQL sends nothing unasked on a session
    without LISTEN. When the server ends the session (a restart, a failover, pg_terminate_backend)
    it first sends the FATAL error and then closes the socket, so the socket turns readable. A
    readable socket, a connection already known broken, or one idle longer than
    ``IDLE_CHECK_SECONDS`` gets psycopg_pool's round-trip check; any other costs one ``select``.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the pooled connection is closed")
    idle = time.monotonic() - _returned_at.get(conn, 0.0)
    if idle < IDLE_CHECK_SECONDS and not _socket_readable(conn.pgconn.socket):
        return
    await AsyncConnectionPool.check_connection(conn)


def _socket_readable(fd: int) -> bool:
    poller = select.poll()  # not select.select: it cannot take a descriptor above 1023
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


@contextlib.asynccontextmanager
async def autocommit_if_idle(conn: AsyncConnection[Any]) -> AsyncIterator[AsyncConnection[Any]]:
    """Run a single read statement outside a transaction when the connection is in none.

    psycopg otherwise sends ``BEGIN`` before the statement and the pool's context ``COMMIT`` after it:
    two round trips that a one-statement read does not need. A connection already in a transaction
    (a transaction pooler's ``SET LOCAL`` on checkout, an earlier statement) is left as it is.
    """
    if conn.autocommit or conn.info.transaction_status != TransactionStatus.IDLE:
        yield conn
        return
    await conn.set_autocommit(True)
    try:
        yield conn
    finally:
        if not conn.closed:
            await conn.set_autocommit(False)


def _begin_with(server: dict[str, str]) -> Callable[[AsyncConnection[Any]], Awaitable[None]]:
    names, values = list(server), list(server.values())

    async def begin(conn: AsyncConnection[Any]) -> None:
        # psycopg_pool runs this on every checkout; it opens the transaction the borrower then uses
        # (its own ``conn.transaction()`` becomes a savepoint), and a dead connection fails it here,
        # so the pool hands out another instead.
        await conn.execute(_SET_LOCAL, (names, values))

    return begin
