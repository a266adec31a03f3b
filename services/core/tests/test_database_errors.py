"""A request whose database went away gets a 503 problem+json with Retry-After, not a 500."""

from __future__ import annotations

import httpx
import psycopg
from litestar import Litestar, get
from psycopg_pool import PoolTimeout
from servers import ThreadedServer

from docket_core.http.problems import EXCEPTION_HANDLERS, PROBLEM_JSON


@get("/lost", sync_to_thread=False)
def lost() -> None:
    raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")


@get("/pool", sync_to_thread=False)
def pool() -> None:
    raise PoolTimeout("couldn't get a connection after 5.00 sec")


@get("/bug", sync_to_thread=False)
def bug() -> None:
    raise RuntimeError("a bug")


def test_a_lost_connection_or_an_exhausted_pool_is_a_503_to_retry_and_a_bug_stays_a_500() -> None:
    app = Litestar([lost, pool, bug], exception_handlers=EXCEPTION_HANDLERS)
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as client:
        for path in ("/lost", "/pool"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.headers["content-type"].startswith(PROBLEM_JSON)
            assert response.headers["retry-after"] == "1"
            assert response.json()["type"] == "urn:docket:problem:database-unavailable"
            assert "administrator" not in response.text
        assert client.get("/bug").status_code == 500
