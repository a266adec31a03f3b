"""The PostgreSQL connection pool (psycopg 3), created closed and opened in lifespan."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from docket_core.settings import CommonSettings


def create_pool(settings: CommonSettings, application_name: str) -> AsyncConnectionPool[AsyncConnection]:
    """Build the service's pool; call ``await pool.open()`` in lifespan."""
    options = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    return AsyncConnectionPool(
        settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout,
        open=False,
        name=application_name,
        kwargs={"application_name": application_name, "options": options, "row_factory": dict_row},
    )
