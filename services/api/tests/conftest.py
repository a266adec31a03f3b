"""Fixtures that run the real API over HTTP against the session's PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from apikit import api_settings
from servers import ThreadedServer
from teamkit import Person, person

from docket_api.app import create_app

ServeApi = Callable[..., str]


@pytest.fixture
def serve_api(clean_db: str, clean_redis: str) -> Iterator[ServeApi]:
    """Start the API with optional setting overrides; returns its base URL."""
    servers: list[ThreadedServer] = []

    def start(**overrides: Any) -> str:
        database = overrides.pop("database_url", clean_db)
        redis = overrides.pop("redis_url", clean_redis)
        settings = api_settings(database, redis, **overrides)
        server = ThreadedServer(create_app(settings)).__enter__()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def api(serve_api: ServeApi) -> Iterator[httpx.Client]:
    """An HTTP client for an API with test defaults."""
    url = serve_api()
    with httpx.Client(base_url=url, timeout=10) as client:
        client.management = url.management  # type: ignore[attr-defined]  # where probes and metrics answer
        yield client


@pytest.fixture
def ada(api: httpx.Client) -> Person:
    """A signed-up user of ``api`` (the owner in most team tests)."""
    return person(api, "ada@example.com")


@pytest.fixture
def bob(api: httpx.Client) -> Person:
    """A second signed-up user of ``api``."""
    return person(api, "bob@example.com")
