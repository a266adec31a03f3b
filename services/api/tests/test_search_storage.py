"""Migration 0014 keeps search vectors in the row: new vectors are stored inline, and the vectors of an
existing database are rewritten by the worker's batched re-index (same configuration), after which
search finds the same documents. A fresh database starts no re-index."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
from psycopg.rows import dict_row

from docket_api.db.migrate import load_migrations, migrate
from docket_core.tables import documents, search_settings

MakeDatabase = Callable[[bool], str]
WORDS = "harbor contract lease retail quarry river pangolin narwhal update rolling budget mill field "
TEXT = " ".join(
    f"{word}{n % 97}" for n, word in enumerate(WORDS.split() * 40)
)  # a ~4 KB text, like a bench one


def _insert(url: str, count: int) -> None:
    with psycopg.connect(url) as conn:
        (user,) = conn.execute(  # type: ignore[misc]
            "INSERT INTO users (email, password_hash) VALUES ('ada@example.com', 'x') RETURNING id"
        ).fetchone()
        (workspace,) = conn.execute("SELECT docket_personal_workspace(%s)", (user,)).fetchone()  # type: ignore[misc]
        for n in range(count):
            (blob,) = conn.execute("INSERT INTO document_blobs DEFAULT VALUES RETURNING id").fetchone()  # type: ignore[misc]
            conn.execute(
                "INSERT INTO documents (workspace_id, owner_id, blob_id, filename, title, content_type, "
                "size_bytes, sha256, status, extracted_text, search) VALUES (%(ws)s, %(user)s, %(blob)s, "
                "'a.txt', 'A', 'text/plain', 1, %(sha)s, 'ready', %(text)s, "
                "setweight(to_tsvector('english', 'A'), 'A') "
                "|| setweight(to_tsvector('english', %(text)s), 'B'))",
                {"ws": workspace, "user": user, "blob": blob, "sha": bytes([n]) * 32, "text": TEXT},
            )


def _out_of_line(url: str) -> int:
    """How many vectors sit in the TOAST table."""
    with psycopg.connect(url) as conn:
        (count,) = conn.execute(  # type: ignore[misc]
            "SELECT count(*) FROM documents WHERE pg_column_toast_chunk_id(search) IS NOT NULL"
        ).fetchone()
    return int(count)


def _search_ids(url: str) -> list[str]:
    async def run() -> list[str]:
        async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
            cur = await conn.execute("SELECT id FROM workspaces")
            workspaces = [row["id"] for row in await cur.fetchall()]
            rows = await documents.search(conn, workspaces, "harbor7", 50, 0, sort="date")
            return sorted(str(row["id"]) for row in rows)

    return asyncio.run(run())


def _reindex(url: str) -> int:
    async def run() -> int:
        async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
            state = await search_settings.get(conn)
            batches = 0
            while True:
                async with conn.transaction():
                    _, finished = await search_settings.reindex_batch(conn, state["text_config"], 4)
                batches += 1
                if finished:
                    return batches

    return asyncio.run(run())


def test_existing_vectors_move_into_the_row_through_the_batched_reindex(make_database: MakeDatabase) -> None:
    url = make_database(False)
    migrations = load_migrations()
    before = [m for m in migrations if m.version < 14]
    migrate(url, migrations=before)
    _insert(url, 10)
    assert _out_of_line(url) == 10  # the default storage: each vector fetched from TOAST
    found = _search_ids(url)
    assert len(found) == 10

    migrate(url)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        state = conn.execute(
            "SELECT previous_config::text, text_config::text, reindex_total FROM search_settings"
        ).fetchone()
    assert state == {"previous_config": "english", "text_config": "english", "reindex_total": 10}
    assert _search_ids(url) == found  # during the rewrite search works as before

    assert _reindex(url) == 3  # 4 + 4 + 2 rows, each batch its own transaction
    assert _out_of_line(url) == 0
    assert _search_ids(url) == found
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT previous_config FROM search_settings").fetchone() == (None,)


def test_a_fresh_database_stores_new_vectors_inline_and_starts_no_reindex(
    make_database: MakeDatabase,
) -> None:
    url = make_database(True)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT previous_config FROM search_settings").fetchone() == (None,)
    _insert(url, 3)
    assert _out_of_line(url) == 0
    assert len(_search_ids(url)) == 3
