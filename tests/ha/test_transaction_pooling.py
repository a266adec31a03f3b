"""Docket through a real PgBouncer in transaction mode: uploads, lists, search and the queue work with
only two server connections for everyone, LISTEN and migrations go to PostgreSQL directly, and no
session state (timeouts, prepared statements) outlives a transaction."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from apikit import api_settings, bearer, register_and_login
from ha_servers import PgBouncer, wait_for
from psycopg_pool import PoolTimeout
from servers import ThreadedServer, cli, worker_process

from docket_api.app import create_app
from docket_core.db import create_pool
from docket_core.settings import CommonSettings
from docket_core.tables import documents

MakeDatabase = Callable[[bool], str]


def _migrate_directly(database_url: str) -> None:
    done = subprocess.run(
        [*cli("docket-api"), "migrate"], env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "schema is current" in done.stdout


class PoolWatch:
    """Samples SHOW POOLS and SHOW CLIENTS while a test runs: the most server connections the pooler
    opened for the database, the most clients it multiplexed onto them, and every client's name."""

    def __init__(self, bouncer: PgBouncer, database: str) -> None:
        self.bouncer, self.database = bouncer, database
        self.most_servers = self.most_clients = 0
        self.client_names: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for pool in self.bouncer.show("POOLS"):
                if pool["database"] == self.database:
                    servers = sum(
                        pool[k] for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")
                    )
                    self.most_servers = max(self.most_servers, servers)
                    self.most_clients = max(self.most_clients, pool["cl_active"] + pool["cl_waiting"])
            self.client_names |= {
                c["application_name"] for c in self.bouncer.show("CLIENTS") if c["database"] == self.database
            }

    def __enter__(self) -> PoolWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def pooled(make_database: MakeDatabase, pgbouncer: PgBouncer) -> tuple[str, str]:
    """A fresh database, migrated by `docket-api migrate` straight to PostgreSQL (the advisory lock
    it holds across transactions cannot go through the pooler); (direct URL, pooled URL)."""
    direct = make_database(False)
    _migrate_directly(direct)
    return direct, pgbouncer.url_for(direct)


def test_uploads_lists_search_and_the_queue_run_through_two_pooled_server_connections(
    pooled: tuple[str, str], pgbouncer: PgBouncer, clean_redis: str
) -> None:
    direct, through_pooler = pooled
    database = psycopg.conninfo.conninfo_to_dict(direct)["dbname"]
    settings = api_settings(
        through_pooler, clean_redis, database_pooler="transaction", db_pool_min_size=2, db_pool_max_size=6
    )
    worker_env = {
        "DATABASE_POOLER": "transaction",
        "DATABASE_LISTEN_URL": direct,
        # an hour between polls: a job picked up in seconds was woken by NOTIFY, over the direct LISTEN
        "WORKER_POLL_INTERVAL_SECONDS": "3600",
        "WORKER_CONCURRENCY": "4",
        "WORKER_EXTRACT_TIMEOUT_SECONDS": "20",
    }
    with (
        ThreadedServer(create_app(settings)) as api,
        httpx.Client(base_url=api.url, timeout=30) as client,
        worker_process(through_pooler, clean_redis, **worker_env),
        PoolWatch(pgbouncer, str(database)) as watch,
    ):
        ready = httpx.get(f"{api.management_url}/readyz", timeout=30)
        assert ready.status_code == 200, "the schema check passes through the pooler"
        users = [bearer(register_and_login(client, f"user{i}@example.com")["access_token"]) for i in range(3)]

        def upload(job: tuple[int, int]) -> str:
            user, n = job
            response = client.post(
                "/api/v1/documents",
                files={
                    "file": (f"note-{user}-{n}.md", f"# Note {n}\n\nkinkajou{user} number {n}\n".encode())
                },
                headers=users[user],
            )
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        def read(job: tuple[int, int]) -> int:
            user, _ = job
            listed = client.get("/api/v1/documents", headers=users[user])
            found = client.get("/api/v1/search", params={"q": f"kinkajou{user}"}, headers=users[user])
            return max(listed.status_code, found.status_code)

        with ThreadPoolExecutor(12) as threads:
            ids = list(threads.map(upload, [(u, n) for u in range(3) for n in range(3)]))
            # each API connection runs the same statements far more than psycopg's prepare threshold (5)
            statuses = Counter(threads.map(read, [(u, n) for u in range(3) for n in range(12)]))
        assert statuses == {200: 36}

        def all_ready() -> bool:
            listed = [client.get("/api/v1/documents", headers=h).json()["items"] for h in users]
            return all(len(items) == 3 and {d["status"] for d in items} == {"ready"} for items in listed)

        wait_for(all_ready, timeout=60, what="every upload processed (woken by NOTIFY)")
        for user, headers in enumerate(users):
            hits = client.get("/api/v1/search", params={"q": f"kinkajou{user}"}, headers=headers).json()
            assert sorted(hit["id"] for hit in hits["items"]) == sorted(ids[user * 3 : user * 3 + 3])
        with psycopg.connect(direct) as conn:
            listeners = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'docket-worker-listen' "
                "AND query LIKE 'LISTEN %%'"
            ).fetchone()
    assert listeners == (1,), "the worker LISTENs on a direct connection"
    assert {"docket-api", "docket-worker"} <= watch.client_names
    assert "docket-worker-listen" not in watch.client_names, "LISTEN never goes through the pooler"
    assert 0 < watch.most_servers <= 2, "PgBouncer kept to its two server connections"
    assert watch.most_clients > watch.most_servers, "more clients than server connections were served"


def test_without_the_pooler_setting_pgbouncer_refuses_the_pools_connections(
    pooled: tuple[str, str], pgbouncer: PgBouncer
) -> None:
    _, through_pooler = pooled
    settings = CommonSettings(database_url=through_pooler, db_pool_min_size=1, db_pool_max_size=1)

    async def open_pool() -> None:
        pool = create_pool(settings, "docket-misconfigured")
        try:
            await pool.open(wait=True, timeout=3)
        finally:
            await pool.close()

    with pytest.raises(PoolTimeout):
        asyncio.run(open_pool())
    assert "unsupported startup parameter: options" in pgbouncer.log()


def test_prepared_statements_break_across_pooled_transactions_but_docket_never_makes_them(
    pooled: tuple[str, str], pgbouncer: PgBouncer, make_database: MakeDatabase
) -> None:
    _, through_pooler = pooled
    workspace = uuid.UUID(int=0)  # no such workspace: the statement runs, and finds nothing
    # psycopg's default behaviour, on a database of its own: its pooled server sessions keep the
    # statement it leaves behind, which would otherwise show up in the count below
    with (
        psycopg.connect(
            pgbouncer.url_for(make_database(False)), autocommit=True, prepare_threshold=0
        ) as preparing,
        psycopg.connect(pgbouncer.url_for(preparing.info.dsn)) as other,
    ):
        preparing.execute("SELECT %s::int + 1", (1,))  # prepared on the server session it happened to get
        other.execute("SELECT 1")  # holds that server session in an open transaction
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            preparing.execute("SELECT %s::int + 1", (1,))  # runs on the other server session
        other.rollback()

    settings = CommonSettings(
        database_url=through_pooler, database_pooler="transaction", db_pool_min_size=2, db_pool_max_size=4
    )

    async def run_docket_pool() -> list[int]:
        pool = create_pool(settings, "docket-api")
        await pool.open(wait=True)
        try:

            async def page_many_times() -> None:
                for _ in range(20):
                    async with pool.connection() as conn:
                        await documents.page(
                            conn, [workspace], limit=10, after=None, status=None, title_prefix=None
                        )

            await asyncio.gather(*(page_many_times() for _ in range(4)))
            counts = []
            async with pool.connection() as a, pool.connection() as b:  # both server connections at once
                for conn in (a, b):
                    row = await (
                        await conn.execute("SELECT count(*) AS n FROM pg_prepared_statements")
                    ).fetchone()
                    counts.append(row["n"])  # type: ignore[index]
            return counts
        finally:
            await pool.close()

    assert asyncio.run(run_docket_pool()) == [0, 0], "no server session holds a prepared statement"


def test_timeouts_hold_in_every_pooled_transaction_and_never_leak_to_the_shared_sessions(
    pooled: tuple[str, str],
) -> None:
    _, through_pooler = pooled
    settings = CommonSettings(
        database_url=through_pooler,
        database_pooler="transaction",
        db_statement_timeout_ms=300,
        db_pool_min_size=1,
        db_pool_max_size=2,
    )

    async def check() -> dict[str, Any]:
        pool = create_pool(settings, "docket-api")
        await pool.open(wait=True)
        seen: dict[str, Any] = {}
        try:
            async with pool.connection() as conn:
                row = await (
                    await conn.execute("SELECT current_setting('statement_timeout') AS t")
                ).fetchone()
                seen["inside"] = row["t"]  # type: ignore[index]
                async with conn.transaction():  # a savepoint inside the checkout's transaction
                    await conn.execute("CREATE TEMP TABLE scratch (n int) ON COMMIT DROP")
            try:
                async with pool.connection() as conn:
                    await conn.execute("SELECT pg_sleep(2)")
            except psycopg.errors.QueryCanceled:
                seen["cancelled"] = True
            async with pool.connection() as conn:  # the pool recovers from the cancelled transaction
                seen["after"] = (await (await conn.execute("SELECT 1 AS one")).fetchone())["one"]  # type: ignore[index]
        finally:
            await pool.close()
        return seen

    assert asyncio.run(check()) == {"inside": "300ms", "cancelled": True, "after": 1}
    with psycopg.connect(through_pooler, autocommit=True) as bare:  # a client without Docket's settings
        for _ in range(4):  # whichever of the two shared server sessions it lands on
            assert bare.execute("SHOW statement_timeout").fetchone() == ("0",)
