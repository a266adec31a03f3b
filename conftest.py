"""Session-wide real services for every test: PostgreSQL, Redis, and helpers to run the apps."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import redis
from embedded_services import EmbeddedPostgres, EmbeddedRedis

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
APP_TABLES = [
    "jobs",
    "documents",
    "document_blob_chunks",
    "document_blobs",
    "refresh_tokens",
    "users",
    "workspaces",
    "audit_log",
]


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A server to create test databases on: TEST_DATABASE_URL, or an embedded one."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    server = EmbeddedPostgres().start()
    try:
        yield server.url()
    finally:
        server.destroy()


def _replace_database(url: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=database)


@pytest.fixture(scope="session")
def make_database(postgres_admin_url: str) -> Callable[[bool], str]:
    """Create a fresh database (migrated or empty) and return its URL."""

    def create(migrated: bool = True) -> str:
        name = f"docket_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _replace_database(postgres_admin_url, name)
        if migrated:
            from docket_api.db.migrate import migrate

            migrate(url)
        return url

    return create


@pytest.fixture(scope="session")
def database_url(make_database: Callable[[bool], str]) -> str:
    """The shared, migrated test database."""
    return make_database(True)


@pytest.fixture
def clean_db(database_url: str) -> str:
    """The shared database with every application table emptied."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(APP_TABLES)} RESTART IDENTITY CASCADE")  # type: ignore[arg-type]
        # the one row of search settings, back to the migration's (english, no re-index)
        conn.execute("DELETE FROM search_settings")
        conn.execute("INSERT INTO search_settings DEFAULT VALUES")
    return database_url


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis | None]:
    if os.environ.get("TEST_REDIS_URL"):
        yield None
        return
    server = EmbeddedRedis().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis | None) -> str:
    return os.environ.get("TEST_REDIS_URL") or (redis_server.url() if redis_server else "")


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    client: Any = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url
