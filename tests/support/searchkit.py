"""Helpers for search tests: ready, indexed documents straight into SQL, and search pages over HTTP."""

from __future__ import annotations

import datetime as dt

import httpx
import psycopg
from teamkit import Person


def add_ready(
    url: str, who: Person, workspace: str, texts: list[str], newest: dt.datetime, step: dt.timedelta
) -> list[str]:
    """Ready, indexed documents straight into SQL (as the worker leaves them), the first one newest."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            """
            WITH t AS (SELECT text, n FROM unnest(%(texts)s::text[]) WITH ORDINALITY AS t(text, n)),
            b AS (INSERT INTO document_blobs (size_bytes) SELECT 1 FROM t RETURNING id),
            pairs AS (SELECT t.text, t.n, b.id AS blob_id FROM
                      (SELECT *, row_number() OVER () AS k FROM t) t
                      JOIN (SELECT id, row_number() OVER () AS k FROM b) b USING (k))
            INSERT INTO documents (workspace_id, owner_id, blob_id, filename, title, content_type, size_bytes,
                                   sha256, status, extracted_text, search, created_at, updated_at)
            SELECT %(workspace)s::uuid, %(owner)s::uuid, blob_id, 'd' || n || '.txt', 'document ' || n,
                   'text/plain', 1,
                   sha256(convert_to(%(workspace)s::text || n, 'UTF8')), 'ready', text,
                   to_tsvector('english', text), %(newest)s - n * %(step)s, %(newest)s - n * %(step)s
            FROM pairs ORDER BY n RETURNING id, created_at
            """,
            {"texts": texts, "workspace": workspace, "owner": who.id, "newest": newest, "step": step},
        ).fetchall()
    return [str(row[0]) for row in sorted(rows, key=lambda row: row[1], reverse=True)]


def search_page(api: httpx.Client, who: Person, **params: object) -> dict[str, object]:
    """One search page over HTTP, asserted 200."""
    response = api.get("/api/v1/search", params=params, headers=who.headers)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def ids_of(page: dict[str, object]) -> list[str]:
    """The ids of a page's hits, in order."""
    return [hit["id"] for hit in page["items"]]  # type: ignore[attr-defined, index]
