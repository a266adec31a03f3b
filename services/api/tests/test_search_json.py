"""Search's JSON items built by PostgreSQL (``search_json``) say exactly what the SearchHit objects that
Python builds from the same rows encode to (``search`` and ``snippet_html``): every field, the ranks,
the timestamps, the HTML-escaped snippets with their marks, and whether a next page exists, over
random documents, random queries, both sorts, filters and pages."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg.rows import dict_row
from sqlseed import users_with_personal_workspaces

from docket_api.domain.search.controllers import SearchHit, snippet_html
from docket_api.domain.workspaces.authz import MEMBER_WORKSPACES_SQL
from docket_core.tables import documents as repo

# words the queries look for, and text that HTML escaping and JSON encoding must both get right
WORDS = ["harbor", "contract", "contracts", "lease", "café", "kubernetes", "rolling", "update"]
NOISE = ["<b>", "a&b", '"quoted"', "it's", "x>y", "\u4e2d\u6587", "\U0001f600", "\u2028", "tab\there", "\\"]
QUERIES = ["harbor", "harbor contract", "contr*", "kube* update", '"rolling update"', "café", "harbor -lease"]
TYPES = ("text/plain", "application/pdf")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(
        rng.choice(WORDS if rng.random() < 0.15 else [*NOISE, "plain", "words"]) for _ in range(words)
    )


def _seed(url: str, rng: random.Random) -> tuple[list[uuid.UUID], str]:
    """Two workspaces of one user (the second shared with them) with 40 random ready documents each,
    some long with their only match far past the snippet window; another user's, never searched."""
    with psycopg.connect(url) as conn:
        users, workspaces = users_with_personal_workspaces(conn, 2)
        conn.execute(
            "INSERT INTO memberships (workspace_id, user_id, role) VALUES (%s, %s, 'viewer')",
            (workspaces[1], users[0]),
        )
        base = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
        for workspace in workspaces:
            for _ in range(40):
                blob = conn.execute(
                    "INSERT INTO document_blobs (size_bytes) VALUES (1) RETURNING id"
                ).fetchone()
                if rng.random() < 0.2:  # the only match deep in a long text
                    text = "filler " * rng.randint(200, 3000) + rng.choice(WORDS) + " filler" * 50
                else:
                    text = _text(rng, rng.randint(1, 400))
                title = _text(rng, rng.randint(1, 6))
                micros = rng.choice([0, 120_000, rng.randint(1, 999_999)])
                created = base - dt.timedelta(seconds=rng.randint(0, 30) * 7, microseconds=micros)
                conn.execute(
                    "INSERT INTO documents (workspace_id, owner_id, blob_id, filename, title, content_type, "
                    "size_bytes, sha256, status, extracted_text, search, created_at, updated_at) "
                    "VALUES (%(ws)s, %(owner)s, %(blob)s, %(file)s, %(title)s, %(type)s, 1, %(sha)s, "
                    "'ready', %(text)s, setweight(to_tsvector('english', %(title)s), 'A') "
                    "|| setweight(to_tsvector('english', %(text)s), 'B'), %(at)s, %(at)s)",
                    {
                        "ws": workspace,
                        "owner": users[workspaces.index(workspace)],
                        "blob": blob[0],  # type: ignore[index]
                        "file": _text(rng, 2) + ".txt",
                        "title": title,
                        "type": rng.choice(TYPES),
                        "sha": rng.randbytes(32),
                        "text": text,
                        "at": created,
                    },
                )
        conn.commit()
    return workspaces, str(users[0])


async def _both(
    url: str, workspaces: Any, query: str, limit: int, offset: int, **filters: Any
) -> tuple[tuple[list[Any], bool], tuple[list[Any], bool]]:
    """The items and next-page flag as PostgreSQL encodes them, and as SearchHit encodes the rows."""
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        raw, more = await repo.search_json(conn, workspaces, query, limit, offset, **filters)
        rows = await repo.search(conn, workspaces, query, limit, offset, **filters)
    hits = [
        SearchHit(
            id=str(row["id"]),
            workspace_id=str(row["workspace_id"]),
            title=row["title"],
            filename=row["filename"],
            content_type=row["content_type"],
            created_at=row["created_at"],
            rank=float(row["rank"]),
            snippet_html=snippet_html(row["snippet"] or ""),
        )
        for row in rows[:limit]
    ]
    return (msgspec.json.decode(raw), more), (
        msgspec.json.decode(msgspec.json.encode(hits)),
        len(rows) > limit,
    )


@pytest.fixture(scope="module")
def seeded(make_database: Callable[[bool], str]) -> tuple[str, list[uuid.UUID], str]:
    url = make_database(True)
    workspaces, user = _seed(url, random.Random(15))
    return url, workspaces, user


def test_every_search_page_postgres_encodes_equals_the_python_encoding(
    seeded: tuple[str, list[uuid.UUID], str],
) -> None:
    url, workspaces, user = seeded
    rng = random.Random(3)
    compared = marked = 0
    for query in QUERIES:
        for sort in ("relevance", "date"):
            filters: dict[str, Any] = {"sort": sort}
            if rng.random() < 0.3:
                filters["content_types"] = [rng.choice(TYPES)]
            searched = rng.choice([workspaces, (MEMBER_WORKSPACES_SQL, user)])
            offset = 0
            while True:
                limit = rng.randint(1, 12)
                (ours, our_more), (python, python_more) = asyncio.run(
                    _both(url, searched, query, limit, offset, **filters)
                )
                assert ours == python, (query, sort, offset)
                assert our_more == python_more
                compared += len(ours)
                marked += sum("<mark>" in hit["snippet_html"] for hit in ours)
                if not our_more:
                    break
                offset += limit
    assert compared > 100  # the comparison saw real hits
    assert marked > 50  # and real highlights


def test_the_membership_subquery_searches_what_the_membership_ids_search(
    seeded: tuple[str, list[uuid.UUID], str],
) -> None:
    """Without a replica the route embeds the caller's memberships in its statement (one round trip)."""
    url, workspaces, user = seeded

    async def both() -> tuple[tuple[bytes, bool], tuple[bytes, bool]]:
        async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
            embedded = await repo.search_json(conn, (MEMBER_WORKSPACES_SQL, user), "harbor", 50, 0)
            return embedded, await repo.search_json(conn, workspaces, "harbor", 50, 0)

    embedded, listed = asyncio.run(both())
    assert embedded == listed
    assert {hit["workspace_id"] for hit in msgspec.json.decode(embedded[0])} == {str(w) for w in workspaces}


def test_a_generic_plan_finds_exactly_what_custom_plans_find(
    seeded: tuple[str, list[uuid.UUID], str],
) -> None:
    """The API prepares its statements with one generic plan each (DB_PLAN_CACHE_MODE): the search's
    branches are chosen as it runs, so the plan that never saw the query's terms answers the same."""
    url, workspaces, user = seeded

    async def compare() -> tuple[int, int]:
        async with (
            await psycopg.AsyncConnection.connect(url, row_factory=dict_row, autocommit=True) as custom,
            await psycopg.AsyncConnection.connect(
                url, row_factory=dict_row, autocommit=True, prepare_threshold=0
            ) as generic,
        ):
            await custom.execute("SET plan_cache_mode = force_custom_plan")
            await generic.execute("SET plan_cache_mode = force_generic_plan")
            rng, compared = random.Random(5), 0
            for query in [*QUERIES, "lease or harbor", "contr* -harbor"]:
                for sort in ("relevance", "date"):
                    searched = rng.choice([workspaces, (MEMBER_WORKSPACES_SQL, user)])
                    for limit, offset in ((10, 0), (3, 3)):
                        args = (searched, query, limit, offset)
                        ours = await repo.search_json(generic, *args, sort=sort)
                        assert ours == await repo.search_json(custom, *args, sort=sort), (query, sort)
                        compared += len(msgspec.json.decode(ours[0]))
            cur = await generic.execute(
                "SELECT coalesce(sum(generic_plans), 0) AS n FROM pg_prepared_statements"
            )
            row = await cur.fetchone()
            assert row is not None
            return compared, int(row["n"])

    compared, generic_plans = asyncio.run(compare())
    assert compared > 100
    assert generic_plans > 30, "the statements ran under generic plans"
