"""Full-text search over a user's ready documents, ranked, with highlighted snippets."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

TEXT_SEARCH_CONFIG = "english"
# Private-use characters mark the hits, so the snippet can be HTML-escaped before <mark> goes in.
HIT_START, HIT_END = "\ue000", "\ue001"
HEADLINE_OPTIONS = (
    f"StartSel={HIT_START}, StopSel={HIT_END}, MaxFragments=2, MaxWords=30, MinWords=10, "
    'FragmentDelimiter=" … "'
)
# ts_headline re-parses the text (about 5 ms per 50 KB): cap it, and run it only for the rows shown.
HEADLINE_TEXT_CHARS = 20_000


async def search(
    conn: AsyncConnection[Any], owner_id: str, query: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    """``limit`` + 1 ranked hits (the extra one tells whether there is a next page) with snippets."""
    cur = await conn.execute(
        """
        WITH q AS (SELECT websearch_to_tsquery(%(config)s::regconfig, %(query)s) AS query),
        hits AS (
            SELECT d.id, d.title, d.filename, d.content_type, d.created_at, d.extracted_text,
                   ts_rank_cd(d.search, q.query) AS rank, q.query
            FROM documents d, q
            WHERE d.owner_id = %(owner)s AND d.status = 'ready' AND d.search @@ q.query
            ORDER BY rank DESC, d.created_at DESC, d.id
            LIMIT %(limit)s + 1 OFFSET %(offset)s
        ), numbered AS (
            SELECT *, row_number() OVER (ORDER BY rank DESC, created_at DESC, id) AS n FROM hits
        )
        SELECT id, title, filename, content_type, created_at, rank,
               CASE WHEN n <= %(limit)s THEN
                 ts_headline(%(config)s::regconfig, left(extracted_text, %(chars)s), query, %(options)s)
               END AS snippet
        FROM numbered ORDER BY n
        """,
        {
            "config": TEXT_SEARCH_CONFIG,
            "query": query,
            "owner": owner_id,
            "limit": limit,
            "offset": offset,
            "chars": HEADLINE_TEXT_CHARS,
            "options": HEADLINE_OPTIONS,
        },
    )
    return await cur.fetchall()  # type: ignore[return-value]
