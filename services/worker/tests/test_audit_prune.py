"""The worker prunes the audit log past AUDIT_RETENTION_DAYS, and only that."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from docket_core.settings import SettingsError
from docket_worker.audit import prune
from docket_worker.settings import WorkerSettings


def _seed(url: str, ages_in_days: list[int]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for age in ages_in_days:
            conn.execute(
                "INSERT INTO audit_log (action, created_at) "
                "VALUES ('test', now() - make_interval(days => %s))",
                (age,),
            )


def _ages(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT extract(day FROM now() - created_at)::int FROM audit_log ORDER BY 1"
        ).fetchall()
    return [int(r[0]) for r in rows]


def test_entries_past_the_retention_go_in_batches_and_newer_ones_stay(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(clean_db, [1, 29, 31, 40, 400, 401, 402])
    monkeypatch.setattr(prune, "BATCH", 2)

    async def run() -> int:
        async with AsyncConnectionPool(clean_db, kwargs={"row_factory": dict_row}, open=False) as pool:
            return await prune.prune_once(pool, 30)

    assert asyncio.run(run()) == 5
    assert _ages(clean_db) == [1, 29]


def test_zero_keeps_everything_and_a_negative_retention_is_refused(clean_db: str) -> None:
    _seed(clean_db, [5000])

    async def run() -> None:
        async with AsyncConnectionPool(clean_db, kwargs={"row_factory": dict_row}, open=False) as pool:
            await asyncio.wait_for(prune.prune_forever(pool, 0), timeout=5)

    asyncio.run(run())
    assert _ages(clean_db) == [5000]
    with pytest.raises(SettingsError, match="AUDIT_RETENTION_DAYS"):
        WorkerSettings(environment="test", audit_retention_days=-1).check()


def test_a_round_another_replica_holds_is_skipped(clean_db: str) -> None:
    _seed(clean_db, [100])

    async def run() -> int:
        async with AsyncConnectionPool(clean_db, kwargs={"row_factory": dict_row}, open=False) as pool:
            return await prune.prune_once(pool, 30)

    with psycopg.connect(clean_db) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(hashtext('docket.audit-prune'))")
        assert asyncio.run(run()) == 0
    assert _ages(clean_db) == [100]
    assert asyncio.run(run()) == 1
