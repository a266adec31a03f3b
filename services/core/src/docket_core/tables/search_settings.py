"""``search_settings``: the deployment's text-search configuration, and the re-index after a change.

The worker's SEARCH_TEXT_CONFIG is the wish; this row is the truth every process reads, so the API's
queries, a retitle and the worker's indexing agree whichever setting each pod started with. Changing it
records the old configuration as ``previous_config`` and rebuilds every vector in batches, in id order,
through ``reindex_search`` jobs; until the last batch, search matches either configuration's query.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from docket_core.tables.documents import INDEXED_TEXT_CHARS

Row = dict[str, Any]
COLUMNS = (
    "text_config::text AS text_config, previous_config::text AS previous_config, reindex_after, "
    "reindex_total, reindex_done, reindex_started_at, reindex_finished_at"
)


class UnknownTextConfigError(ValueError):
    """The database has no text-search configuration of that name."""


async def get(conn: AsyncConnection[Any]) -> Row:
    cur = await conn.execute(f"SELECT {COLUMNS} FROM search_settings")
    row = await cur.fetchone()
    assert row is not None, "migration 0013 inserts the row"
    return row  # type: ignore[no-any-return]


def read(conn: psycopg.Connection[Any]) -> Row | None:
    """The row, for a command line (None before migration 0013)."""
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(f"SELECT {COLUMNS} FROM search_settings").fetchone()


async def change_to(conn: AsyncConnection[Any], config: str) -> bool:
    """Make ``config`` the configuration and start re-indexing for it, in the caller's transaction;
    False (and nothing changed) when it is the configuration already. A change during a re-index
    starts over from the first document."""
    try:
        async with conn.transaction():  # a savepoint: an unknown name leaves the caller's transaction usable
            cur = await conn.execute("SELECT %s::regconfig::text AS name", (config,))
    except psycopg.errors.UndefinedObject:
        raise UnknownTextConfigError(config) from None
    row = await cur.fetchone()
    assert row is not None
    cur = await conn.execute(f"SELECT {COLUMNS} FROM search_settings FOR UPDATE")
    current = await cur.fetchone()
    assert current is not None
    if current["text_config"] == row["name"]:
        return False
    await conn.execute(
        """
        UPDATE search_settings SET
            previous_config = text_config, text_config = %(config)s::regconfig, reindex_after = NULL,
            reindex_done = 0, reindex_started_at = now(), reindex_finished_at = NULL,
            reindex_total = (SELECT count(*) FROM documents WHERE search IS NOT NULL)
        """,
        {"config": row["name"]},
    )
    return True


async def reindex_batch(conn: AsyncConnection[Any], config: str, batch: int) -> tuple[int, bool]:
    """Rebuild the next ``batch`` vectors after the cursor, in the caller's transaction; returns how
    many were rebuilt and whether the re-index is over. Nothing happens (0, True) when the row names
    another configuration (a newer change took over) or no re-index is running."""
    cur = await conn.execute(f"SELECT {COLUMNS} FROM search_settings FOR UPDATE")
    state = await cur.fetchone()
    assert state is not None
    if state["text_config"] != config or state["previous_config"] is None:
        return 0, True
    cur = await conn.execute(
        """
        UPDATE documents d SET search =
            setweight(to_tsvector(%(config)s::regconfig, d.title), 'A')
            || setweight(
                to_tsvector(%(config)s::regconfig, left(coalesce(d.extracted_text, ''), %(indexed)s)), 'B'
            )
        FROM (
            SELECT id FROM documents
            WHERE search IS NOT NULL AND (%(after)s::uuid IS NULL OR id > %(after)s::uuid)
            ORDER BY id LIMIT %(batch)s
        ) b
        WHERE d.id = b.id AND d.search IS NOT NULL
        RETURNING d.id
        """,
        {"config": config, "indexed": INDEXED_TEXT_CHARS, "after": state["reindex_after"], "batch": batch},
    )
    ids: list[uuid.UUID] = [row["id"] for row in await cur.fetchall()]  # type: ignore[call-overload]
    done = len(ids) < batch
    await conn.execute(
        """
        UPDATE search_settings SET
            reindex_after = coalesce(%(last)s, reindex_after), reindex_done = reindex_done + %(count)s,
            previous_config = CASE WHEN %(done)s THEN NULL ELSE previous_config END,
            reindex_finished_at = CASE WHEN %(done)s THEN now() END
        """,
        {"last": max(ids) if ids else None, "count": len(ids), "done": done},
    )
    return len(ids), done
