"""Fixtures: the real API and the web app, served over HTTP by uvicorn, on real PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apikit import api_settings
from servers import ThreadedServer
from webkit import Browser, web_settings

from docket_api.app import create_app as create_api
from docket_web.app import create_app as create_web

ServeApi = Callable[..., str]
ServeWeb = Callable[..., str]


@pytest.fixture
def servers() -> Iterator[list[ThreadedServer]]:
    started: list[ThreadedServer] = []
    yield started
    for server in reversed(started):
        server.__exit__(None, None, None)


@pytest.fixture
def serve_api(clean_db: str, clean_redis: str, servers: list[ThreadedServer]) -> ServeApi:
    """Start the real API (trusting loopback, i.e. the web, for X-Forwarded-For); returns its URL."""

    def start(**overrides: Any) -> str:
        overrides.setdefault("trusted_proxies", ("127.0.0.1/32",))
        server = ThreadedServer(create_api(api_settings(clean_db, clean_redis, **overrides))).__enter__()
        servers.append(server)
        return server.url

    return start


@pytest.fixture
def serve_web(clean_redis: str, servers: list[ThreadedServer]) -> ServeWeb:
    """Start the web app against ``api_url``; returns its URL."""

    def start(api_url: str, **overrides: Any) -> str:
        server = ThreadedServer(create_web(web_settings(api_url, clean_redis, **overrides))).__enter__()
        servers.append(server)
        return server.url

    return start


@pytest.fixture
def stack(serve_api: ServeApi, serve_web: ServeWeb) -> Iterator[Browser]:
    """API and web with test defaults, and a browser-like client for the web."""
    web = serve_web(serve_api())
    with Browser(web) as browser:
        yield browser
