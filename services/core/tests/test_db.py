"""The shared pool's sessions: every pooled connection carries the statement and idle-in-transaction
timeouts, and a session killed for idling in a transaction is replaced, not lent out again."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg import errors

from docket_core import db
from docket_core.db import create_pool
from docket_core.settings import CommonSettings, SettingsError, load_settings


def _settings(database_url: str, **overrides: object) -> CommonSettings:
    env = {"DATABASE_URL": database_url, "DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "1"}
    env.update({key.upper(): str(value) for key, value in overrides.items()})
    return load_settings(CommonSettings, env)


def test_the_idle_in_transaction_timeout_defaults_to_five_seconds() -> None:
    assert load_settings(CommonSettings, {}).db_idle_in_transaction_timeout_ms == 5000


def test_a_negative_timeout_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"):
        load_settings(CommonSettings, {"DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": "-1"})


def test_pooled_sessions_carry_both_timeouts(database_url: str) -> None:
    async def run() -> tuple[str, str]:
        settings = _settings(
            database_url, db_statement_timeout_ms=1234, db_idle_in_transaction_timeout_ms=4321
        )
        async with create_pool(settings, "docket-test") as pool, pool.connection() as conn:
            statement = await (await conn.execute("SHOW statement_timeout")).fetchone()
            idle = await (await conn.execute("SHOW idle_in_transaction_session_timeout")).fetchone()
        assert statement is not None
        assert idle is not None
        return statement["statement_timeout"], idle["idle_in_transaction_session_timeout"]

    assert asyncio.run(run()) == ("1234ms", "4321ms")


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "auto"), ({"DB_PLAN_CACHE_MODE": "force_generic_plan"}, "force_generic_plan")],
)
def test_pooled_sessions_carry_the_plan_cache_mode(
    database_url: str, env: dict[str, str], expected: str
) -> None:
    """The worker keeps PostgreSQL's own choice; the API sets force_generic_plan (its settings' test)."""

    async def run() -> str:
        settings = _settings(database_url, **env)
        async with create_pool(settings, "docket-test") as pool, pool.connection() as conn:
            row = await (await conn.execute("SHOW plan_cache_mode")).fetchone()
        assert row is not None
        return str(row["plan_cache_mode"])

    assert asyncio.run(run()) == expected


def test_a_transaction_left_idle_is_ended_by_the_server_and_the_pool_replaces_the_session(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("CREATE TABLE IF NOT EXISTS idle_probe (n int)")
        admin.execute("TRUNCATE idle_probe")

    async def run() -> None:
        settings = _settings(database_url, db_idle_in_transaction_timeout_ms=300)
        async with create_pool(settings, "docket-test") as pool:

            async def idle_in_a_transaction() -> None:
                async with pool.connection() as conn, conn.transaction():
                    await conn.execute("INSERT INTO idle_probe VALUES (1)")
                    await asyncio.sleep(1.0)  # waiting on something that is not the database
                    await conn.execute("INSERT INTO idle_probe VALUES (2)")

            with pytest.raises(errors.IdleInTransactionSessionTimeout):
                await idle_in_a_transaction()
            async with pool.connection() as conn:  # the one slot is usable again
                row = await (await conn.execute("SELECT count(*) AS n FROM idle_probe")).fetchone()
            assert row == {"n": 0}, "the idle transaction's first insert was rolled back"

    asyncio.run(run())


def test_a_connection_the_server_ended_is_replaced_on_checkout_not_lent_out(database_url: str) -> None:
    """A PostgreSQL restart ends every pooled session; the next borrower gets a fresh one, not an error."""

    async def run() -> None:
        async with create_pool(_settings(database_url), "docket-test") as pool:
            async with pool.connection() as conn:
                row = await (await conn.execute("SELECT pg_backend_pid() AS pid")).fetchone()
            assert row is not None
            with psycopg.connect(database_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (row["pid"],))
            async with pool.connection() as conn:
                again = await (await conn.execute("SELECT pg_backend_pid() AS pid")).fetchone()
            assert again is not None
            assert again["pid"] != row["pid"]

    asyncio.run(run())


def _last_statement_of(database_url: str, pid: int) -> str:
    with psycopg.connect(database_url, autocommit=True) as admin:
        row = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert row is not None
    return str(row[0])


def test_a_recently_returned_live_connection_is_lent_without_a_round_trip(database_url: str) -> None:
    """The checkout check costs a round trip only when the connection may be dead."""

    async def run() -> tuple[str, str]:
        async with create_pool(_settings(database_url), "docket-test") as pool:
            async with pool.connection() as conn:
                await conn.execute("SELECT 'marker-statement'")
                pid = conn.pgconn.backend_pid
            async with pool.connection() as conn:
                fresh = _last_statement_of(database_url, pid)
            db.IDLE_CHECK_SECONDS = 0.0  # now every checkout counts as long idle
            async with pool.connection() as conn:
                checked = _last_statement_of(database_url, pid)
        return fresh, checked

    idle_before = db.IDLE_CHECK_SECONDS
    try:
        fresh, checked = asyncio.run(run())
    finally:
        db.IDLE_CHECK_SECONDS = idle_before
    # the pool's context manager committed on return; a checkout check would have sent "" after it
    assert fresh == "COMMIT", "a fresh, quiet connection is lent as it is"
    assert checked == "", "a long-idle connection gets psycopg_pool's empty-statement check"


def test_a_one_statement_read_runs_outside_a_transaction_only_on_an_idle_connection(
    database_url: str,
) -> None:
    """No BEGIN/COMMIT round trips around a single read; a transaction already open is left alone."""
    from psycopg.pq import TransactionStatus

    async def run() -> list[object]:
        seen: list[object] = []
        async with create_pool(_settings(database_url), "docket-test") as pool:
            async with pool.connection() as conn:
                async with db.autocommit_if_idle(conn):
                    await conn.execute("SELECT 1")
                    seen.append(conn.info.transaction_status)  # IDLE: no transaction was begun
                seen.append(conn.autocommit)  # restored for the pool
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
                async with db.autocommit_if_idle(conn):
                    await conn.execute("SELECT 2")
                    seen.append(conn.info.transaction_status)  # still the borrower's transaction
        seen.append(TransactionStatus.IDLE)
        seen.append(TransactionStatus.INTRANS)
        return seen

    idle, restored, in_transaction, expected_idle, expected_intrans = asyncio.run(run())
    assert idle == expected_idle
    assert restored is False
    assert in_transaction == expected_intrans
