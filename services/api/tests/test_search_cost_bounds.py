"""What one account can make a search cost everyone else, over real HTTP and a real PostgreSQL: a query
holds at most MAX_QUERY_WORDS words; a search runs at most SEARCH_TIMEOUT_MS, answered 503
``search-timeout``, with its statement cancelled in the server and its connection back in the pool,
usable. And the text-search configuration a process remembers is checked by every search, so a change
is never searched past."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable

import httpx
import msgspec
import psycopg
import pytest
from psycopg.rows import dict_row
from searchkit import add_ready, ids_of, search_page
from teamkit import Person, person

from docket_api.settings import ApiSettings
from docket_core.db import create_pool
from docket_core.settings import load_settings
from docket_core.tables import documents
from docket_core.tables.search_query import MAX_QUERY_WORDS

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=1)
# enough long matching documents that no search of them ends within a millisecond
SLOW_CORPUS = ["harbor contract " * 1_000 + "lease"] * 300


def _search(api: httpx.Client, who: Person, q: str) -> httpx.Response:
    return api.get("/api/v1/search", params={"q": q}, headers=who.headers)


@pytest.mark.parametrize(
    "query",
    [
        " ".join(f"word{n}" for n in range(MAX_QUERY_WORDS + 1)),
        " or ".join(["harbor"] * (MAX_QUERY_WORDS // 2 + 1)),  # "or" is a word too
        "-".join("abcdefghijklmnopqrstuvwxyz"[: MAX_QUERY_WORDS + 1]),  # a hyphenated word's parts
        '"' + " ".join(["rolling update"] * MAX_QUERY_WORDS) + '"',
        " ".join(f"ku{n}*" for n in range(MAX_QUERY_WORDS + 1)),
    ],
)
def test_a_query_of_more_words_than_the_bound_is_refused_with_a_problem(
    api: httpx.Client, ada: Person, query: str
) -> None:
    response = _search(api, ada, query)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:docket:problem:validation-error"
    assert problem["errors"] == [{"field": "q", "message": f"at most {MAX_QUERY_WORDS} words"}]


def test_a_query_of_exactly_the_bound_is_searched(api: httpx.Client, ada: Person, clean_db: str) -> None:
    [doc] = add_ready(clean_db, ada, ada.personal, ["the harbor contract was signed"], NOW, STEP)
    query = "harbor or absent0 or absent1 or absent2 or absent3 contract"
    assert len(query.split()) == MAX_QUERY_WORDS
    assert ids_of(search_page(api, ada, q=query)) == [doc]


def test_a_search_past_its_timeout_is_answered_503_and_the_api_goes_on_serving(
    serve_api: Callable[..., str], clean_db: str
) -> None:
    with httpx.Client(base_url=serve_api(search_timeout_ms=1, db_pool_max_size=1), timeout=30) as api:
        ada = person(api, "ada@example.com")
        add_ready(clean_db, ada, ada.personal, SLOW_CORPUS, NOW, STEP)
        response = _search(api, ada, "harbor contract")
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["retry-after"] == "1"
        assert response.json()["type"] == "urn:docket:problem:search-timeout"
        with psycopg.connect(clean_db, autocommit=True) as conn:  # not left running for nobody
            running = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND query LIKE '%ts_rank_cd%' AND pid <> pg_backend_pid()"
            ).fetchone()
        assert running == (0,)
        # the pool's one connection came back clean: no aborted transaction, no 1 ms timeout left on it
        listed = api.get("/api/v1/documents", params={"limit": 50}, headers=ada.headers)
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["items"]) == 50


@pytest.mark.parametrize("in_transaction", [False, True], ids=["idle", "in-a-transaction"])
def test_a_search_past_its_timeout_is_cancelled_in_the_server_and_leaves_the_connection_usable(
    ada: Person, clean_db: str, in_transaction: bool
) -> None:
    """``in-a-transaction`` is a transaction pooler's checkout, which opens one first; the search's
    bound changes no setting of the connection's."""
    add_ready(clean_db, ada, ada.personal, SLOW_CORPUS, NOW, STEP)
    workspaces = [uuid.UUID(ada.personal)]

    async def searches() -> tuple[int, str, str]:
        async with await psycopg.AsyncConnection.connect(
            clean_db, row_factory=dict_row, options="-c statement_timeout=7000"
        ) as conn:
            await conn.set_autocommit(not in_transaction)
            if in_transaction:
                await conn.execute("SELECT 1")
            items, _ = await documents.search_json(conn, workspaces, "lease", 10, 0, timeout_ms=60_000)
            with pytest.raises(TimeoutError):
                await documents.search_json(conn, workspaces, "harbor contract", 10, 0, timeout_ms=1)
            if in_transaction:
                await conn.rollback()  # what the pool does with a transaction that failed
            after = await (await conn.execute("SHOW statement_timeout")).fetchone()
            await conn.rollback()
            await conn.set_autocommit(True)
            again, _ = await documents.search_json(conn, workspaces, "lease", 10, 0, timeout_ms=60_000)
            return len(items), after["statement_timeout"], again.decode()

    found, timeout_after, again = asyncio.run(searches())
    assert found > 0
    assert timeout_after == "7s"
    assert again.startswith("[{")


def test_a_change_of_configuration_is_searched_with_at_once_though_the_process_remembered_the_old_one(
    ada: Person, clean_db: str
) -> None:
    [doc] = add_ready(clean_db, ada, ada.personal, ["the runners were running"], NOW, STEP)
    workspaces = [uuid.UUID(ada.personal)]

    async def search(query: str) -> list[str]:
        async with await psycopg.AsyncConnection.connect(
            clean_db, row_factory=dict_row, autocommit=True
        ) as conn:
            items, _ = await documents.search_json(conn, workspaces, query, 10, 0)
        return [hit["id"] for hit in msgspec.json.decode(items)]

    assert asyncio.run(search("running")) == [doc], "english stems running to run"
    assert documents._last_configs == documents.SearchConfigs("english", None)
    with psycopg.connect(clean_db, autocommit=True) as conn:  # as if a re-index into simple had ended
        conn.execute("UPDATE search_settings SET text_config = 'simple', previous_config = NULL")
    assert asyncio.run(search("running")) == [], "simple keeps running as it is; the vectors say run"
    assert documents._last_configs == documents.SearchConfigs("simple", None)


def test_the_apis_pooled_sessions_keep_one_generic_plan_per_prepared_statement(clean_db: str) -> None:
    """Planning the search's statement for each search cost about a third of its PostgreSQL CPU."""

    async def plan_cache_mode() -> str:
        settings = load_settings(ApiSettings, {"DATABASE_URL": clean_db})
        async with create_pool(settings, "docket-api-test") as pool, pool.connection() as conn:
            row = await (await conn.execute("SHOW plan_cache_mode")).fetchone()
        assert row is not None
        return str(row["plan_cache_mode"])

    assert asyncio.run(plan_cache_mode()) == "force_generic_plan"
