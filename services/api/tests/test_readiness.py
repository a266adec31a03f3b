"""Probes (on the management port): /healthz is liveness and checks nothing; /readyz checks the database,
its schema and Redis, and says only ok, failed or timed out for each."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
import redis
from apikit import bearer, register_and_login
from embedded_services import EmbeddedRedis, free_port

from docket_api.db.migrate import CONTRACT, EXPAND, migrate, required_version, status
from docket_core.http.health import SLOW_GRACE_SECONDS

ServeApi = Callable[..., str]
MakeDatabase = Callable[[bool], str]
CHECK_BUDGET_SECONDS = 1.0


class Collect(logging.Handler):
    """Keeps the records a logger emits, so a test can read what the service logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [record.getMessage() for record in self.records]


@contextlib.contextmanager
def collecting(logger_name: str) -> Iterator[Collect]:
    """A Collect handler on the logger ``logger_name`` for the length of the block."""
    handler = Collect()
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def api_log() -> Iterator[Collect]:
    with collecting("docket.api") as handler:
        yield handler


@pytest.fixture
def health_log() -> Iterator[Collect]:
    with collecting("docket.health") as handler:
        yield handler


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own, which it may stop and start without disturbing other tests."""
    server = EmbeddedRedis().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a hung dependency."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


def closed_port_database_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/docket?connect_timeout=2"


def readyz(base_url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(f"{base_url}/readyz", timeout=10)
    return response, time.monotonic() - started


def wait_until_ready(base_url: str, timeout: float = 15.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response, _ = readyz(base_url)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def failed_checks(body: dict[str, Any]) -> set[str]:
    return {name for name, result in body["checks"].items() if result != "ok"}


def test_healthz_and_readyz_are_200_when_the_database_and_redis_are_up(serve_api: ServeApi) -> None:
    url = serve_api().management
    health = httpx.get(f"{url}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    response, _ = readyz(url)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_is_503_naming_redis_while_redis_is_down_and_recovers_when_it_returns(
    serve_api: ServeApi, own_redis: EmbeddedRedis
) -> None:
    url = serve_api(redis_url=own_redis.url()).management
    assert readyz(url)[0].status_code == 200

    own_redis.stop()
    down, elapsed = readyz(url)
    assert down.status_code == 503
    assert down.headers["content-type"].startswith("application/json")
    body = down.json()
    assert body["status"] == "not ready"
    assert failed_checks(body) == {"redis"}
    assert body["checks"]["database"] == "ok"
    assert elapsed < CHECK_BUDGET_SECONDS + 1.0
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200  # liveness does not follow Redis

    own_redis.start()  # same port
    back = wait_until_ready(url)
    assert back.status_code == 200, back.text
    assert back.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_healthz_stays_200_while_the_database_and_redis_are_down(
    serve_api: ServeApi, own_redis: EmbeddedRedis
) -> None:
    own_redis.stop()
    url = serve_api(
        database_url=closed_port_database_url(), redis_url=own_redis.url(), db_pool_timeout=0.5
    ).management
    with httpx.Client(base_url=url, timeout=5) as client:
        for _ in range(3):
            health = client.get("/healthz")
            assert health.status_code == 200
            assert health.json() == {"status": "ok"}
        response = client.get("/readyz")
    assert response.status_code == 503
    assert failed_checks(response.json()) == {"database", "redis"}


def test_readyz_is_503_naming_the_database_when_its_port_is_closed(serve_api: ServeApi) -> None:
    url = serve_api(database_url=closed_port_database_url(), db_pool_timeout=0.5).management
    response, elapsed = readyz(url)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert failed_checks(body) == {"database"}
    assert body["checks"]["redis"] == "ok"
    assert elapsed < CHECK_BUDGET_SECONDS + 1.0


def test_readyz_is_503_naming_the_database_schema_until_it_is_migrated(
    serve_api: ServeApi, make_database: MakeDatabase, api_log: Collect, health_log: Collect
) -> None:
    unmigrated = make_database(False)
    url = serve_api(database_url=unmigrated).management

    response, _ = readyz(url)
    assert response.status_code == 503
    body = response.json()
    assert failed_checks(body) == {"database"}
    assert body["checks"]["database"] == "failed", "the reason goes to the log, never the probe's body"
    assert any(
        f"schema at version 0, code needs {required_version()}" in message
        for message in health_log.messages()
    ), health_log.messages()
    assert any(
        "database schema is behind the code" in message and "docket-api migrate" in message
        for message in api_log.messages()
    ), api_log.messages()
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200

    migrate(unmigrated, phase=EXPAND)  # the running API notices without a restart
    after, _ = readyz(url)
    assert after.status_code == 200, "ready once expand has run: contract waits for the new pods"
    pending = [state.migration for state in status(unmigrated) if not state.applied]
    assert pending, "a contract step is still pending here"
    assert {migration.phase for migration in pending} == {CONTRACT}


def test_readyz_gives_each_check_one_second_when_dependencies_hang(
    serve_api: ServeApi, silent_port: int
) -> None:
    # Redis' own timeouts are set far above the readiness budget, so only the budget can cut the check short.
    url = serve_api(
        database_url=f"postgresql://postgres@127.0.0.1:{silent_port}/docket?connect_timeout=3",
        redis_url=f"redis://127.0.0.1:{silent_port}/0",
        redis_connect_timeout=30.0,
        redis_socket_timeout=30.0,
        db_pool_timeout=30.0,
    ).management
    response, elapsed = readyz(url)
    assert response.status_code == 503
    assert failed_checks(response.json()) == {"database", "redis"}
    # the checks run side by side, each within its own budget
    assert CHECK_BUDGET_SECONDS * 0.9 <= elapsed < CHECK_BUDGET_SECONDS + 1.0
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200


def test_a_check_that_times_out_just_after_passing_is_slow_and_ready_until_the_grace_ends(
    serve_api: ServeApi, own_redis: EmbeddedRedis
) -> None:
    # CLIENT PAUSE makes a real Redis hang (accepts, never answers) as a busy node's checks would
    url = serve_api(redis_url=own_redis.url(), redis_socket_timeout=30.0).management
    assert wait_until_ready(url).status_code == 200
    redis.Redis(port=own_redis.port).execute_command(
        "CLIENT", "PAUSE", str(int(SLOW_GRACE_SECONDS * 1000) + 4000)
    )
    slow, _ = readyz(url)
    assert slow.status_code == 200, slow.text
    assert slow.json()["checks"] == {"database": "ok", "redis": "slow"}
    time.sleep(SLOW_GRACE_SECONDS)
    hung, _ = readyz(url)
    assert hung.status_code == 503, hung.text
    assert hung.json()["checks"]["redis"] == "timed out"
    assert wait_until_ready(url, timeout=20).status_code == 200


def test_a_refused_dependency_is_not_ready_at_once_even_just_after_passing(
    serve_api: ServeApi, own_redis: EmbeddedRedis
) -> None:
    url = serve_api(redis_url=own_redis.url()).management
    assert wait_until_ready(url).status_code == 200
    own_redis.stop()
    down, _ = readyz(url)
    assert down.status_code == 503
    assert down.json()["checks"]["redis"] == "failed"


def test_a_pool_with_every_connection_lent_out_is_slow_not_failed(serve_api: ServeApi, clean_db: str) -> None:
    # one pooled connection, held by a list request that waits on a lock: the database is busy, not down
    served = serve_api(db_pool_min_size=1, db_pool_max_size=1, db_pool_timeout=30.0)
    url = served.management
    assert wait_until_ready(url).status_code == 200
    with httpx.Client(base_url=served, timeout=30) as client:
        token = register_and_login(client)["access_token"]
        with psycopg.connect(clean_db) as locker:
            locker.execute("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE")
            with ThreadPoolExecutor(1) as pool:
                listing = pool.submit(client.get, "/api/v1/documents", headers=bearer(token))
                time.sleep(1.0)  # the list request now holds the pool's one connection
                busy, _ = readyz(url)
                locker.rollback()
                assert listing.result().status_code == 200
    assert busy.status_code == 200, busy.text
    assert busy.json()["checks"] == {"database": "slow", "redis": "ok"}


def test_a_pool_that_keeps_lending_while_the_check_waits_is_busy_and_stays_ready_past_the_grace(
    serve_api: ServeApi, clean_db: str
) -> None:
    # one pooled connection, and twenty clients queueing list requests for it, which a lock on documents
    # lets through only a few at a time, every 0.3 s: the check waits behind them past its budget, but
    # the pool keeps lending. That is load, not a broken database, and it outlasts the slow grace.
    served = serve_api(db_pool_min_size=1, db_pool_max_size=1, db_pool_timeout=60.0)
    url = served.management
    assert wait_until_ready(url).status_code == 200
    stop = threading.Event()
    listed: list[int] = []

    def hold_the_lock_in_turns() -> None:
        with psycopg.connect(clean_db) as locker:
            while not stop.is_set():
                locker.execute("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE")
                time.sleep(0.3)
                locker.commit()

    def keep_listing(token: str) -> None:
        with httpx.Client(base_url=served, timeout=60) as client:
            while not stop.is_set():
                listed.append(client.get("/api/v1/documents", headers=bearer(token)).status_code)

    with httpx.Client(base_url=served, timeout=30) as client:
        token = register_and_login(client)["access_token"]
    answers: list[tuple[float, httpx.Response]] = []
    with ThreadPoolExecutor(21) as pool:
        started = time.monotonic()
        listers = [pool.submit(keep_listing, token) for _ in range(20)]
        busy_work = [pool.submit(hold_the_lock_in_turns), *listers]
        try:
            while time.monotonic() - started < SLOW_GRACE_SECONDS + 4:
                answers.append((time.monotonic() - started, readyz(url)[0]))
                time.sleep(0.5)
        finally:
            stop.set()
        for work in busy_work:
            work.result()
    assert listed
    assert set(listed) == {200}, listed
    reports = [(round(at, 1), ans.status_code, ans.json()["checks"]["database"]) for at, ans in answers]
    assert all(status == 200 for _, status, _ in reports), reports
    assert any(database == "busy" for at, _, database in reports if at > SLOW_GRACE_SECONDS), reports
