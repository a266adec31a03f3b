"""The list's JSON body built by PostgreSQL (``page_json``) says exactly what the DocumentPage that
Python builds from the same rows encodes to: every field, every value, the timestamps' format and the
cursor, over random documents and random pages."""

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

from docket_api.domain.documents.cursor import encode_cursor
from docket_api.domain.documents.schemas import DocumentPage, document_out
from docket_api.domain.tags.repository import tags_of
from docket_core.tables import documents as repo

ALPHABET = "abcXYZ 09_-.\"\\/'\n\t\x01\x1f\u00e9\u4e2d\U0001f600<>&\u2028"
STATUSES = ("pending", "processing", "ready", "failed")


def _text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, longest)))


def _seed(url: str, rng: random.Random) -> tuple[list[uuid.UUID], list[str]]:
    """Two workspaces of one user with 60 random documents and tags; another user's, never listed."""
    with psycopg.connect(url) as conn:
        users, workspaces = users_with_personal_workspaces(conn, 2)
        base = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
        tag_names = ["Alpha", "beta", "Gamma", "delta \u00e9", 'q"uote']
        for workspace in workspaces:
            tag_ids = [
                conn.execute(
                    "INSERT INTO tags (workspace_id, name) VALUES (%s, %s) RETURNING id", (workspace, name)
                ).fetchone()[0]  # type: ignore[index]
                for name in tag_names
            ]
            for _ in range(30):
                blob = conn.execute(
                    "INSERT INTO document_blobs (size_bytes) VALUES (1) RETURNING id"
                ).fetchone()
                # whole seconds, whole milliseconds, microseconds, and ties broken by id
                micros = rng.choice([0, 0, 120_000, rng.randint(1, 999_999)])
                created = base - dt.timedelta(seconds=rng.randint(0, 20) * 7, microseconds=micros)
                failed = rng.random() < 0.3
                doc = conn.execute(
                    "INSERT INTO documents (workspace_id, owner_id, blob_id, filename, title, content_type, "
                    "size_bytes, sha256, status, failure_reason, page_count, word_count, created_at, "
                    "updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (
                        workspace,
                        users[workspaces.index(workspace)],
                        blob[0],  # type: ignore[index]
                        _text(rng, 40) + ".txt",
                        _text(rng, 80),
                        rng.choice(["text/plain", "application/pdf"]),
                        rng.randint(0, 2**40),
                        rng.randbytes(32),
                        "failed" if failed else rng.choice(STATUSES[:3]),
                        _text(rng, 60) if failed else None,
                        rng.choice([None, rng.randint(0, 5000)]),
                        rng.choice([None, rng.randint(0, 10**6)]),
                        created,
                        created + dt.timedelta(microseconds=rng.choice([0, rng.randint(1, 10**7)])),
                    ),
                ).fetchone()[0]  # type: ignore[index]
                for tag in rng.sample(tag_ids, rng.randint(0, 3)):
                    conn.execute(
                        "INSERT INTO document_tags (document_id, tag_id) VALUES (%s, %s)", (doc, tag)
                    )
        conn.commit()
    return [workspaces[0]], tag_names


async def _both(
    url: str, workspaces: list[uuid.UUID], timezone: str, **query: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The page as PostgreSQL encodes it, and as DocumentPage encodes the same rows (the old path)."""
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        await conn.execute("SELECT set_config('TimeZone', %s, false)", (timezone,))
        raw = await repo.page_json(conn, workspaces, **query)
        limit = query["limit"]
        rows = await repo.page(conn, workspaces, **{**query, "limit": limit + 1})
        tagged = await tags_of(conn, [row["id"] for row in rows[:limit]])
    last = rows[limit - 1] if len(rows) > limit else None
    page = DocumentPage(
        [document_out(row, tagged.get(row["id"])) for row in rows[:limit]],
        encode_cursor(last["created_at"], last["id"]) if last else None,
    )
    return msgspec.json.decode(raw), msgspec.json.decode(msgspec.json.encode(page))


def _walk_pages(
    url: str, workspaces: list[uuid.UUID], timezone: str, rng: random.Random, **filters: Any
) -> int:
    """Follow the cursors to the end, comparing every page; returns the pages seen."""
    after = None
    pages = 0
    while True:
        limit = rng.randint(1, 12)
        ours, python = asyncio.run(_both(url, workspaces, timezone, limit=limit, after=after, **filters))
        assert ours.keys() == python.keys() == {"items", "next_cursor"}
        assert len(ours["items"]) == len(python["items"])
        for mine, theirs in zip(ours["items"], python["items"], strict=True):
            for field in theirs:
                assert mine[field] == theirs[field], (field, mine[field], theirs[field])
            assert mine.keys() == theirs.keys()
        assert ours["next_cursor"] == python["next_cursor"]
        pages += 1
        if ours["next_cursor"] is None:
            return pages
        micros, _, hex_id = ours["next_cursor"].partition(".")
        after = (
            dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros)),
            uuid.UUID(hex_id),
        )


@pytest.fixture(scope="module")
def seeded(make_database: Callable[[bool], str]) -> tuple[str, list[uuid.UUID], list[str]]:
    url = make_database(True)
    workspaces, tags = _seed(url, random.Random(16))
    return url, workspaces, tags


def test_every_page_postgres_encodes_equals_the_python_encoding(
    seeded: tuple[str, list[uuid.UUID], list[str]],
) -> None:
    url, workspaces, _ = seeded
    rng = random.Random(1)
    assert _walk_pages(url, workspaces, "UTC", rng, status=None, title_prefix=None) > 3


def test_filtered_pages_are_equal_too(seeded: tuple[str, list[uuid.UUID], list[str]]) -> None:
    url, workspaces, tags = seeded
    rng = random.Random(2)
    for status in ("ready", "failed"):
        _walk_pages(url, workspaces, "UTC", rng, status=status, title_prefix=None)
    _walk_pages(url, workspaces, "UTC", rng, status=None, title_prefix="a")
    _walk_pages(url, workspaces, "UTC", rng, status=None, title_prefix=None, tags=[tags[0].upper()])
    ours, python = asyncio.run(
        _both(url, [uuid.uuid4()], "UTC", limit=5, after=None, status=None, title_prefix=None)
    )
    assert ours == python == {"items": [], "next_cursor": None}


def test_timestamps_are_utc_whatever_the_session_time_zone(
    seeded: tuple[str, list[uuid.UUID], list[str]],
) -> None:
    """Python's encoding follows the session's zone ("+05:30"); PostgreSQL's is always "Z": the same
    instants, and the same text as Python's under UTC, the zone Docket's databases run in."""
    url, workspaces, _ = seeded
    ours, python = asyncio.run(
        _both(url, workspaces, "Asia/Kolkata", limit=20, after=None, status=None, title_prefix=None)
    )
    for mine, theirs in zip(ours["items"], python["items"], strict=True):
        for field in ("created_at", "updated_at"):
            assert mine[field].endswith("Z")
            assert theirs[field].endswith("+05:30")
            assert dt.datetime.fromisoformat(mine[field]) == dt.datetime.fromisoformat(theirs[field])


def test_the_membership_subquery_lists_what_the_membership_ids_list(
    seeded: tuple[str, list[uuid.UUID], list[str]],
) -> None:
    """Without a replica the list embeds the caller's memberships in its statement (one round trip)."""
    from docket_api.domain.workspaces.authz import MEMBER_WORKSPACES_SQL

    url, workspaces, _ = seeded

    async def both() -> tuple[bytes, bytes]:
        async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
            cur = await conn.execute(
                "SELECT user_id FROM memberships WHERE workspace_id = %s", (workspaces[0],)
            )
            row = await cur.fetchone()
            assert row is not None
            query = {"limit": 100, "after": None, "status": None, "title_prefix": None}
            embedded = await repo.page_json(conn, (MEMBER_WORKSPACES_SQL, row["user_id"]), **query)
            return embedded, await repo.page_json(conn, workspaces, **query)

    embedded, listed = asyncio.run(both())
    assert embedded == listed
    assert len(msgspec.json.decode(embedded)["items"]) == 30
