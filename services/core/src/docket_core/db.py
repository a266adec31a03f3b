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

from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection
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
    snapshot go, and the pool discards the broken connection when it comes back.
    """
    return {
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.db_idle_in_transaction_timeout_ms),
    }


def create_pool(settings: CommonSettings, application_name: str, conninfo: str | None = None) -> Pool:
    """Build a pool to ``conninfo`` (default ``DATABASE_URL``); call ``await pool.open()`` in lifespan."""
    server = session_settings(settings)
    kwargs: dict[str, Any] = {"application_name": application_name, "row_factory": dict_row}
    # A pooled connection the server has ended (PostgreSQL restarted or failed over, an admin's
    # pg_terminate_backend) would be lent out once per pooled slot and fail its request; checked on
    # checkout (one round trip on loopback or in the cluster), it is replaced instead.
    check: Callable[[AsyncConnection[Any]], Awaitable[None]] | None = AsyncConnectionPool.check_connection
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
        kwargs=kwargs,
    )


def _begin_with(server: dict[str, str]) -> Callable[[AsyncConnection[Any]], Awaitable[None]]:
    names, values = list(server), list(server.values())

    async def begin(conn: AsyncConnection[Any]) -> None:
        # psycopg_pool runs this on every checkout; it opens the transaction the borrower then uses
        # (its own ``conn.transaction()`` becomes a savepoint), and a dead connection fails it here,
        # so the pool hands out another instead.
        await conn.execute(_SET_LOCAL, (names, values))

    return begin
