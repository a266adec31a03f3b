"""Fixtures for the high-availability tests: a PgBouncer in front of the session's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from ha_servers import PgBouncer


@pytest.fixture(scope="module")
def pgbouncer(postgres_admin_url: str) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode with two server connections per database, on loopback."""
    upstream = psycopg.conninfo.conninfo_to_dict(postgres_admin_url)
    bouncer = PgBouncer(int(upstream.get("port") or 5432), host=str(upstream.get("host") or "127.0.0.1"))
    try:
        yield bouncer.start()
    finally:
        bouncer.stop()
