"""The PostgreSQL connection pool (psycopg 3), created closed and opened in lifespan."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from docket_core.settings import CommonSettings


def session_options(settings: CommonSettings) -> str:
    """The libpq ``options`` every pooled connection starts with.

    ``idle_in_transaction_session_timeout`` ends a session that holds a transaction open while it
    waits on something other than the database (a slow client, a stuck task): its locks and its
    snapshot go, and the pool discards the broken connection when it comes back.
    """
    return (
        f"-c statement_timeout={settings.db_statement_timeout_ms} "
        f"-c idle_in_transaction_session_timeout={settings.db_idle_in_transaction_timeout_ms}"
    )


def create_pool(settings: CommonSettings, application_name: str) -> AsyncConnectionPool[AsyncConnection]:
    """Build the service's pool; call ``await pool.open()`` in lifespan."""
    return AsyncConnectionPool(
        settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout,
        open=False,
        name=application_name,
        kwargs={
            "application_name": application_name,
            "options": session_options(settings),
            "row_factory": dict_row,
        },
    )
