"""SQL for the ``documents`` table: the API's workspace-scoped reads and writes, the worker's status
changes, and full-text search. Every status change a document can go through is a function here."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple, TypedDict, Unpack

from psycopg import AsyncConnection

from docket_core.tables import search_query

Row = dict[str, Any]
COLUMNS = (
    "id, workspace_id, filename, title, content_type, size_bytes, sha256, status, failure_reason, "
    "page_count, word_count, created_at, updated_at, text_encoding, processing_notice, thumbnail_etag"
)
# the text-search configuration vectors are built with, read from search_settings (its module says why)
# in the very statement that writes the vector; SEARCH_TEXT_CONFIG, the worker's setting, changes it
TEXT_CONFIG_SQL = "(SELECT text_config FROM search_settings)"
INDEXED_TEXT_CHARS = 300_000  # a tsvector holds at most 1 MB; the rest of a huge text is stored, not indexed
# Private-use characters mark the hits, so the snippet can be HTML-escaped before <mark> goes in.
HIT_START, HIT_END = "\ue000", "\ue001"
HEADLINE_OPTIONS = (
    f"StartSel={HIT_START}, StopSel={HIT_END}, MaxFragments=2, MaxWords=30, MinWords=10, "
    'FragmentDelimiter=" … "'
)
# ts_headline re-parses the text it is given (about 0.2 ms per KB here), so a snippet is built from a
# short window, only for the rows shown: SNIPPET_WINDOW_CHARS around the first of the query's lexemes,
# found by plain substring searches (strpos) of the lower-cased first HEADLINE_TEXT_CHARS: about 25 us
# a lexeme, where a regular expression of all the lexemes cost a 19-word query about 8 ms a shown hit.
# At most SOUGHT_LEXEMES lexemes (the first in the alphabet) are looked for; the text's start is shown
# when none is there. A lexeme whose stem is not spelled in the text ("compani" of "companies") is not
# found; such a match, or one past HEADLINE_TEXT_CHARS, gets the text's start, unhighlighted, as a
# match past the window did before.
SNIPPET_WINDOW_CHARS = 500
SNIPPET_OVERLAP_CHARS = 150  # the window starts this far before the first match
HEADLINE_TEXT_CHARS = 20_000
SOUGHT_LEXEMES = 8
# OFFSET 0 keeps the lower-cased head a subquery of its own, computed once, not once per lexeme
_SNIPPET = """(SELECT ts_headline(%(config)s::regconfig,
        substr(d.extracted_text, greatest(1, found.at - %(overlap)s), %(window)s), h.query, %(options)s)
    FROM (SELECT coalesce(min(nullif(strpos(head.text, lexeme), 0)), 1) AS at
          FROM (SELECT lower(substr(d.extracted_text, 1, %(deep)s)) AS text OFFSET 0) head
          CROSS JOIN q CROSS JOIN unnest(q.sought) lexeme) found)"""


WorkspaceIds = Sequence[uuid.UUID]
# or the workspaces a subquery selects, with its one parameter (the caller's memberships)
WorkspaceQuery = tuple[str, Any]


async def id_by_hash(conn: AsyncConnection[Any], workspace_id: uuid.UUID, sha256: bytes) -> uuid.UUID | None:
    cur = await conn.execute(
        "SELECT id FROM documents WHERE workspace_id = %s AND sha256 = %s", (workspace_id, sha256)
    )
    row = await cur.fetchone()
    return row["id"] if row else None  # type: ignore[call-overload,no-any-return]


async def insert(
    conn: AsyncConnection[Any],
    *,
    workspace_id: uuid.UUID,
    owner_id: str,
    blob_id: uuid.UUID,
    filename: str,
    title: str,
    content_type: str,
    size_bytes: int,
    sha256: bytes,
) -> Row:
    """A new document in ``workspace_id``, uploaded by ``owner_id``."""
    cur = await conn.execute(
        "INSERT INTO documents (workspace_id, owner_id, blob_id, filename, title, content_type, size_bytes, "
        f"sha256) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
        (workspace_id, owner_id, blob_id, filename, title, content_type, size_bytes, sha256),
    )
    row = await cur.fetchone()
    assert row is not None
    return row  # type: ignore[no-any-return]


async def usage(conn: AsyncConnection[Any], workspace_id: uuid.UUID) -> tuple[int, int]:
    """How many documents the workspace keeps, and their total size in bytes."""
    cur = await conn.execute(
        "SELECT count(*) AS n, coalesce(sum(size_bytes), 0) AS bytes FROM documents WHERE workspace_id = %s",
        (workspace_id,),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["n"]), int(row["bytes"])  # type: ignore[call-overload]


async def workspace_of(conn: AsyncConnection[Any], document_id: uuid.UUID) -> uuid.UUID | None:
    """The workspace a document belongs to (None when there is no such document)."""
    cur = await conn.execute("SELECT workspace_id FROM documents WHERE id = %s", (document_id,))
    row = await cur.fetchone()
    return row["workspace_id"] if row else None  # type: ignore[call-overload,no-any-return]


async def lock(conn: AsyncConnection[Any], workspace_id: uuid.UUID, document_id: uuid.UUID) -> Row | None:
    """The document, locked until the caller's transaction ends (serialises status changes)."""
    cur = await conn.execute(
        f"SELECT {COLUMNS} FROM documents WHERE id = %s AND workspace_id = %s FOR UPDATE",
        (document_id, workspace_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def get(conn: AsyncConnection[Any], workspace_id: uuid.UUID, document_id: uuid.UUID) -> Row | None:
    """The document with its ``blob_id`` (none of its large columns)."""
    cur = await conn.execute(
        f"SELECT {COLUMNS}, blob_id FROM documents WHERE id = %s AND workspace_id = %s",
        (document_id, workspace_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


# The row's version: xmin, the transaction that wrote this version of the row, changes with every UPDATE
# (a title, a tag edit's touch, a status, a thumbnail, ...) and is read from the tuple's header, never
# from its columns. updated_at beside it keeps two versions apart even across a transaction id
# wraparound or a restore.
ROW_VERSION = "xmin::text AS row_version"


async def version_of(conn: AsyncConnection[Any], document_id: uuid.UUID) -> Row | None:
    """The document's workspace and version (``updated_at``, ``row_version``), from small columns only:
    what a conditional GET needs to answer 304 without reading the text."""
    cur = await conn.execute(
        f"SELECT workspace_id, updated_at, {ROW_VERSION} FROM documents WHERE id = %s", (document_id,)
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def detail(
    conn: AsyncConnection[Any], workspace_id: uuid.UUID, document_id: uuid.UUID, *, preview_chars: int
) -> Row | None:
    """The document, its version, its sorted tag names (``tags``) and the first ``preview_chars`` of its
    text, from one snapshot (one statement), so the version names exactly this body."""
    # substr, not left: left() detoasts the whole text to cut it; substr fetches only the slice it needs
    cur = await conn.execute(
        f"SELECT {COLUMNS}, {ROW_VERSION}, substr(extracted_text, 1, %s) AS preview, "
        "coalesce((SELECT array_agg(t.name ORDER BY lower(t.name)) FROM document_tags dt "
        "JOIN tags t ON t.id = dt.tag_id WHERE dt.document_id = documents.id), '{}') AS tags "
        "FROM documents WHERE id = %s AND workspace_id = %s",
        (preview_chars, document_id, workspace_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


def _tag_clauses(tags: Sequence[str], alias: str = "documents") -> tuple[list[str], list[Any]]:
    """One EXISTS per tag name (case-insensitive): a document must carry every one."""
    clause = (
        "EXISTS (SELECT 1 FROM document_tags dt JOIN tags t ON t.id = dt.tag_id "
        f"WHERE dt.document_id = {alias}.id AND lower(t.name) = lower(%s))"
    )
    return [clause] * len(tags), list(tags)


def _page_filter(
    workspaces: WorkspaceIds | WorkspaceQuery,
    after: tuple[dt.datetime, uuid.UUID] | None,
    status: str | None,
    title_prefix: str | None,
    tags: Sequence[str],
) -> tuple[str, list[Any]]:
    if isinstance(workspaces, tuple) and len(workspaces) == 2 and isinstance(workspaces[0], str):
        clauses = [f"workspace_id IN ({workspaces[0]})"]
        params: list[Any] = [workspaces[1]]
    else:
        clauses = ["workspace_id = ANY(%s)"]
        params = [list(workspaces)]
    if after is not None:
        clauses.append("(created_at, id) < (%s, %s)")
        params.extend(after)
    if status is not None:
        clauses.append("status = %s")
        params.append(status)
    if title_prefix:
        clauses.append("lower(title) LIKE %s")
        params.append(_escape_like(title_prefix.lower()) + "%")
    tag_clauses, tag_params = _tag_clauses(tags)
    return " AND ".join(clauses + tag_clauses), params + tag_params


async def page(
    conn: AsyncConnection[Any],
    workspace_ids: WorkspaceIds,
    *,
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
    status: str | None,
    title_prefix: str | None,
    tags: Sequence[str] = (),
) -> list[Row]:
    """Newest first among the workspaces' documents; ``after`` is the (created_at, id) of the last row
    of the previous page; every one of ``tags`` must be on a document."""
    where, params = _page_filter(workspace_ids, after, status, title_prefix, tags)
    cur = await conn.execute(
        f"SELECT {COLUMNS} FROM documents WHERE {where} ORDER BY created_at DESC, id DESC LIMIT %s",
        [*params, limit],
    )
    return await cur.fetchall()  # type: ignore[return-value]


def _rfc3339(column: str) -> str:
    """SQL rendering a timestamptz as msgspec encodes a UTC datetime: seconds, then ``.ffffff`` only
    when there are microseconds, then ``Z``."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        f"|| CASE WHEN extract(microseconds FROM {utc}) %% 1000000 <> 0 "
        f"THEN to_char({utc}, '.US') ELSE '' END || 'Z'"
    )


# One page of the list as the API's JSON body (DocumentPage), built by PostgreSQL: the rows, each with
# its sorted tag names, and the cursor of the page's last row when a next page exists (the same
# "<microseconds since the epoch>.<id in hex>" that docket_api's encode_cursor writes).
_PAGE_JSON = """
WITH fetched AS (
    SELECT {columns}, row_number() OVER (ORDER BY created_at DESC, id DESC) AS n
    FROM (SELECT {columns} FROM documents WHERE {where} ORDER BY created_at DESC, id DESC LIMIT %s) page
)
SELECT json_build_object(
    'items', coalesce(json_agg(json_build_object(
        'id', id, 'workspace_id', workspace_id, 'filename', filename, 'title', title,
        'content_type', content_type, 'size_bytes', size_bytes, 'sha256', encode(sha256, 'hex'),
        'status', status, 'failure_reason', failure_reason, 'page_count', page_count,
        'word_count', word_count, 'created_at', {created}, 'updated_at', {updated},
        'text_encoding', text_encoding, 'processing_notice', processing_notice,
        'thumbnail_etag', thumbnail_etag,
        'tags', coalesce(
            (SELECT json_agg(t.name ORDER BY lower(t.name)) FROM document_tags dt
             JOIN tags t ON t.id = dt.tag_id WHERE dt.document_id = fetched.id),
            '[]'::json)
    ) ORDER BY n) FILTER (WHERE n <= %s), '[]'::json),
    'next_cursor', CASE WHEN count(*) > %s THEN max(
        CASE WHEN n = %s THEN
            (extract(epoch FROM created_at) * 1000000)::numeric(30, 0)::text
            || '.' || replace(id::text, '-', '')
        END
    ) END
)::text AS page FROM fetched
"""


async def page_json(
    conn: AsyncConnection[Any],
    workspace_ids: WorkspaceIds | WorkspaceQuery,
    *,
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
    status: str | None,
    title_prefix: str | None,
    tags: Sequence[str] = (),
) -> bytes:
    """The page :func:`page` reads, as the API's JSON body: ``{"items": [...], "next_cursor": ...}``,
    with no row reaching Python. ``workspace_ids`` may be a (subquery, parameter) pair instead."""
    where, params = _page_filter(workspace_ids, after, status, title_prefix, tags)
    sql = _PAGE_JSON.format(
        columns=COLUMNS, where=where, created=_rfc3339("created_at"), updated=_rfc3339("updated_at")
    )
    cur = await conn.execute(sql, [*params, limit + 1, limit, limit, limit])
    row = await cur.fetchone()
    assert row is not None
    page: str = row["page"] if isinstance(row, dict) else row[0]
    return page.encode()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def delete(
    conn: AsyncConnection[Any], workspace_id: uuid.UUID, document_id: uuid.UUID
) -> uuid.UUID | None:
    """Delete the row; returns its blob id so the caller can schedule the purge."""
    cur = await conn.execute(
        "DELETE FROM documents WHERE id = %s AND workspace_id = %s RETURNING blob_id",
        (document_id, workspace_id),
    )
    row = await cur.fetchone()
    return row["blob_id"] if row else None  # type: ignore[call-overload,no-any-return]


async def blobs_of_workspace(
    conn: AsyncConnection[Any], workspace_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(document id, blob id) of every document in the workspace, locked, before it is deleted."""
    cur = await conn.execute(
        "SELECT id, blob_id FROM documents WHERE workspace_id = %s FOR UPDATE", (workspace_id,)
    )
    return [(row["id"], row["blob_id"]) for row in await cur.fetchall()]  # type: ignore[call-overload]


async def status_of(
    conn: AsyncConnection[Any], workspace_id: uuid.UUID, document_id: uuid.UUID
) -> Row | None:
    cur = await conn.execute(
        "SELECT id, status, failure_reason FROM documents WHERE id = %s AND workspace_id = %s",
        (document_id, workspace_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def retitle(conn: AsyncConnection[Any], document_id: uuid.UUID, title: str) -> None:
    """A new title; a ready document's search vector is rebuilt so the title is found by its new words."""
    await conn.execute(
        f"""
        UPDATE documents SET title = %(title)s, updated_at = now(),
            search = CASE WHEN status = 'ready' THEN
                setweight(to_tsvector({TEXT_CONFIG_SQL}, %(title)s), 'A')
                || setweight(
                    to_tsvector({TEXT_CONFIG_SQL}, left(coalesce(extracted_text, ''), %(indexed)s)), 'B'
                )
            END
        WHERE id = %(id)s
        """,
        {"id": document_id, "title": title, "indexed": INDEXED_TEXT_CHARS},
    )


async def touch(conn: AsyncConnection[Any], document_id: uuid.UUID) -> Row | None:
    """Mark the document changed (its tags were edited); returns its row."""
    cur = await conn.execute(
        f"UPDATE documents SET updated_at = now() WHERE id = %s RETURNING {COLUMNS}", (document_id,)
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def to_process(conn: AsyncConnection[Any], document_id: uuid.UUID) -> Row | None:
    """What the worker needs to process a document (any owner's): its blob and claimed type."""
    cur = await conn.execute(
        "SELECT id, blob_id, content_type, filename, title FROM documents WHERE id = %s", (document_id,)
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def owner_of(conn: AsyncConnection[Any], document_id: uuid.UUID) -> str | None:
    """The owner's user id (as text), or None once the document is gone."""
    cur = await conn.execute("SELECT owner_id FROM documents WHERE id = %s", (document_id,))
    row = await cur.fetchone()
    return str(row["owner_id"]) if row else None  # type: ignore[call-overload]


async def mark_pending(
    conn: AsyncConnection[Any], workspace_id: uuid.UUID, document_id: uuid.UUID
) -> Row | None:
    """Queued for (re)processing; the old text keeps serving until the new one is ready."""
    cur = await conn.execute(
        "UPDATE documents SET status = 'pending', failure_reason = NULL, updated_at = now() "
        f"WHERE id = %s AND workspace_id = %s RETURNING {COLUMNS}",
        (document_id, workspace_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def mark_processing(conn: AsyncConnection[Any], document_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE documents SET status = 'processing', updated_at = now() WHERE id = %s", (document_id,)
    )


async def mark_ready(
    conn: AsyncConnection[Any],
    document_id: uuid.UUID,
    *,
    text: str,
    title: str | None,
    page_count: int | None,
    word_count: int,
    text_encoding: str | None = None,
    notice: str | None = None,
) -> None:
    """Store the extracted text and its counts, and index the title and (the start of) the text."""
    await conn.execute(
        f"""
        UPDATE documents d SET
            status = 'ready', failure_reason = NULL, extracted_text = t.text,
            title = coalesce(%(title)s, d.title), page_count = %(pages)s, word_count = %(words)s,
            text_encoding = %(encoding)s, processing_notice = %(notice)s,
            search = setweight(to_tsvector({TEXT_CONFIG_SQL}, coalesce(%(title)s, d.title)), 'A')
                  || setweight(to_tsvector({TEXT_CONFIG_SQL}, left(t.text, %(indexed)s)), 'B'),
            updated_at = now()
        FROM (SELECT %(text)s::text AS text) t  -- the text is sent once, not twice
        WHERE d.id = %(id)s
        """,
        {
            "id": document_id,
            "text": text,
            "title": title,
            "pages": page_count,
            "words": word_count,
            "encoding": text_encoding,
            "notice": notice,
            "indexed": INDEXED_TEXT_CHARS,
        },
    )


async def mark_failed(conn: AsyncConnection[Any], document_id: uuid.UUID, reason: str) -> None:
    """Failed, with the reason; whatever an earlier run extracted is dropped, so nothing stale is shown
    or matched. The same whether extraction refused the file or the job died after its retries."""
    await conn.execute(
        "UPDATE documents SET status = 'failed', failure_reason = %s, extracted_text = NULL, "
        "search = NULL, word_count = NULL, page_count = NULL, text_encoding = NULL, "
        "processing_notice = NULL, updated_at = now() WHERE id = %s",
        (reason, document_id),
    )


def _tsquery(config: str) -> str:
    """The SQL of the query in one configuration (a placeholder, never input): websearch syntax, and
    the prefix terms (``kube*``) ANDed to it."""
    return f"""(CASE
        WHEN %(prefixes)s = '' THEN websearch_to_tsquery({config}, %(text)s)
        WHEN %(text)s = '' THEN to_tsquery({config}, %(prefixes)s)
        ELSE websearch_to_tsquery({config}, %(text)s) && to_tsquery({config}, %(prefixes)s)
    END)"""


SORTS = {  # fixed SQL per sort, never built from input; the ties follow the workspace index's order
    "relevance": "rank DESC, created_at DESC, id DESC",
    "date": "created_at DESC, id DESC",
}
# Relevance ranks at most this many matches per workspace, the newest ones. Ranking (and matching without
# the GIN index) reads each document's search vector, which is TOASTed: ~10-30 us a document. Ranking
# every match of a common query in a 90,000-document workspace took over a second; ranking the newest
# 200 takes milliseconds. The bound is per workspace, so a workspace with many more matches (a hostile
# one, or just a big one) never crowds out the best match of another of the caller's workspaces.
RANKED_MATCHES_PER_WORKSPACE = 200
# Where the newest matches are found: walking a workspace's newest documents costs one vector read per
# document, which pays while matches are dense (at least RANKED/RECENT, 10 %); below that the GIN index
# finds the sparse matches instead (its cost grows with the matches, not with the workspace).
RECENT_DOCUMENTS_WALKED = 2_000


def _workspaces_sql(workspaces: WorkspaceIds | WorkspaceQuery) -> tuple[str, dict[str, Any]]:
    """The FROM item listing the workspaces searched: the ids, or the caller's memberships' subquery
    (its one ``%s`` becomes a named parameter), so the statement needs no earlier round trip."""
    if isinstance(workspaces, tuple) and len(workspaces) == 2 and isinstance(workspaces[0], str):
        subquery, member = workspaces
        assert subquery.count("%s") == 1, subquery
        return f"({subquery.replace('%s', '%(member)s')})", {"member": member}
    return "unnest(%(workspaces)s::uuid[])", {"workspaces": list(workspaces)}


def _html_escaped(column: str) -> str:
    """SQL escaping a snippet as html.escape does (&, <, >, " and ' ), then marking its hits."""
    escaped = column
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("''", "&#x27;")):
        escaped = f"replace({escaped}, '{char}', '{entity}')"
    return f"replace(replace({escaped}, %(hit_start)s, '<mark>'), %(hit_end)s, '</mark>')"


# The page as the API's JSON items (SearchHit's fields, in order), whether a next page exists, and
# whether the configurations it was searched with are still search_settings' (see search_json).
_SEARCH_JSON = """
WITH page AS ({statement})
SELECT coalesce(json_agg(json_build_object(
    'id', id, 'workspace_id', workspace_id, 'title', title, 'filename', filename,
    'content_type', content_type, 'created_at', {created}, 'rank', rank,
    'snippet_html', {snippet}
) ORDER BY n) FILTER (WHERE n <= %(limit)s), '[]'::json)::text AS items, count(*) > %(limit)s AS more,
(SELECT text_config = %(config)s::regconfig AND previous_config IS NOT DISTINCT FROM %(previous)s::regconfig
 FROM search_settings) AS settled
FROM page
"""


@functools.lru_cache(maxsize=256)
def _search_sql(
    sort: str,
    tag_count: int,
    types: bool,
    created_from: bool,
    created_before: bool,
    changing: bool,
    as_json: bool,
    searched: str,
) -> str:
    """The search statement of one shape (which filters, which sort, ...), built once per process and
    on one line: psycopg caches the conversion of a statement only up to 4,096 characters. The CTE q
    (the query, and ``sought``: a few of its lexemes, for a deep match's snippet) is MATERIALIZED, so
    it is computed once per search even under a generic plan, where its inputs are parameters and an
    inlined q would parse the query again for every document it is matched against."""
    order = SORTS[sort]
    tag_sql = "".join(
        " AND EXISTS (SELECT 1 FROM document_tags dt JOIN tags t ON t.id = dt.tag_id "
        f"WHERE dt.document_id = d.id AND lower(t.name) = lower(%(tag{n})s))"
        for n in range(tag_count)
    )
    # ranked after the bound (the scan's own projection would rank every match before the LIMIT)
    rank = "ts_rank_cd(c.search, q.query)" if sort == "relevance" else "0::real"
    previous = f" || {_tsquery('%(previous)s::regconfig')}" if changing else ""
    in_workspace = "d.workspace_id = w.id AND d.status = 'ready'"  # and only the filters given
    if types:
        in_workspace += " AND d.content_type = ANY(%(types)s::text[])"
    if created_from:
        in_workspace += " AND d.created_at >= %(from)s::timestamptz"
    if created_before:
        in_workspace += " AND d.created_at < %(before)s::timestamptz"
    columns = "d.id, d.workspace_id, d.title, d.filename, d.content_type, d.created_at, d.search"
    newest = "ORDER BY d.created_at DESC, d.id DESC"
    # Per workspace (LATERAL), its newest matches: first among its newest RECENT documents, walked in
    # the index's order (stops as soon as enough match); only when fewer match there and the workspace
    # holds more documents, over the whole workspace, where the planner takes the GIN index.
    statement = f"""
        WITH q AS MATERIALIZED (
            SELECT {_tsquery("%(config)s::regconfig")}{previous} AS query,
                   ARRAY(SELECT unnest(tsvector_to_array(to_tsvector(%(config)s::regconfig, %(words)s)))
                         LIMIT %(sought)s) AS sought
        ),
        candidates AS (
            SELECT c.id, c.workspace_id, c.title, c.filename, c.content_type, c.created_at, q.query,
                   {rank} AS rank
            FROM {searched} AS w(id) CROSS JOIN q CROSS JOIN LATERAL (
                WITH recent AS (
                    SELECT d.* FROM (
                        SELECT {columns} FROM documents d WHERE {in_workspace} {newest} LIMIT %(recent)s
                    ) d
                    WHERE d.search @@ q.query {tag_sql}
                    {newest} LIMIT %(per_workspace)s
                )
                SELECT * FROM recent
                WHERE (SELECT count(*) FROM recent) = %(per_workspace)s
                   OR NOT EXISTS (SELECT 1 FROM documents d WHERE {in_workspace} OFFSET %(recent)s)
                UNION ALL
                (SELECT {columns} FROM documents d
                 WHERE (SELECT count(*) FROM recent) < %(per_workspace)s
                   AND EXISTS (SELECT 1 FROM documents d WHERE {in_workspace} OFFSET %(recent)s)
                   AND {in_workspace} AND d.search @@ q.query {tag_sql}
                 {newest} LIMIT %(per_workspace)s)
            ) c
        ), hits AS (
            SELECT * FROM candidates ORDER BY {order} LIMIT %(limit)s + 1 OFFSET %(offset)s
        ), numbered AS (
            SELECT *, row_number() OVER (ORDER BY {order}) AS n FROM hits
        )
        SELECT h.id, h.workspace_id, h.title, h.filename, h.content_type, h.created_at, h.rank, h.n,
               CASE WHEN h.n <= %(limit)s THEN {_SNIPPET} END AS snippet
        FROM numbered h JOIN documents d ON d.id = h.id ORDER BY h.n
        """
    if as_json:
        statement = _SEARCH_JSON.format(
            statement=statement,
            created=_rfc3339("created_at"),
            snippet=_html_escaped("coalesce(snippet, '')"),
        )
    return " ".join(statement.split())


class SearchConfigs(NamedTuple):
    """search_settings' text-search configuration, and the previous one while a re-index runs."""

    config: str
    previous: str | None


async def read_search_configs(conn: AsyncConnection[Any]) -> SearchConfigs:
    cur = await conn.execute(
        "SELECT text_config::text AS config, previous_config::text AS previous FROM search_settings"
    )
    row = await cur.fetchone()
    assert row is not None, "migration 0013 inserts the row"
    return SearchConfigs(row["config"], row["previous"]) if isinstance(row, dict) else SearchConfigs(*row)


def search_statement(
    configs: SearchConfigs,
    workspaces: WorkspaceIds | WorkspaceQuery,
    query: str,
    limit: int,
    offset: int,
    tags: Sequence[str] = (),
    *,
    content_types: Sequence[str] = (),
    created_from: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    sort: str = "relevance",
    as_json: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The statement :func:`search` (or, ``as_json``, :func:`search_json`) sends, and its parameters.
    The configurations go in as parameters; the JSON statement also says whether they are still
    search_settings' (see search_json)."""
    parsed = search_query.parse(query)
    # date order: each workspace's newest offset + limit + 1 matches hold the page, whichever it is
    per_workspace = RANKED_MATCHES_PER_WORKSPACE if sort == "relevance" else offset + limit + 1
    # during a re-index the query of the previous configuration matches too (a re-index into the same
    # configuration, which only moves the vectors' storage, needs no second query)
    changing = configs.previous not in (None, configs.config)
    searched, workspace_params = _workspaces_sql(workspaces)
    statement = _search_sql(
        sort, len(tags), bool(content_types), created_from is not None, created_before is not None,
        changing, as_json, searched,
    )  # fmt: skip
    return statement, {
        "config": configs.config,
        "previous": configs.previous,
        "text": parsed.text,
        "prefixes": parsed.prefixes,
        "words": " ".join([parsed.text, parsed.prefixes.replace("':*", "").replace("'", "")]),
        **workspace_params,
        **{f"tag{n}": tag for n, tag in enumerate(tags)},
        "types": list(content_types),
        "from": created_from,
        "before": created_before,
        "recent": RECENT_DOCUMENTS_WALKED,
        "per_workspace": per_workspace,
        "limit": limit,
        "offset": offset,
        "window": SNIPPET_WINDOW_CHARS,
        "deep": HEADLINE_TEXT_CHARS,
        "overlap": SNIPPET_OVERLAP_CHARS,
        "sought": SOUGHT_LEXEMES,
        "options": HEADLINE_OPTIONS,
        "hit_start": HIT_START,
        "hit_end": HIT_END,
    }


class SearchOptions(TypedDict, total=False):
    """The filters and order of a search, as :func:`search_statement` takes them."""

    content_types: Sequence[str]
    created_from: dt.datetime | None
    created_before: dt.datetime | None
    sort: str


async def search(
    conn: AsyncConnection[Any],
    workspace_ids: WorkspaceIds | WorkspaceQuery,
    query: str,
    limit: int,
    offset: int,
    tags: Sequence[str] = (),
    **options: Unpack[SearchOptions],
) -> list[Row]:
    """``limit`` + 1 hits among the workspaces' ready documents (the extra one tells whether there is
    a next page), ranked or newest first, each shown hit with a snippet whose matches are wrapped in
    HIT_START/HIT_END. ``query`` is websearch syntax plus prefix terms (``kube*``); every one of
    ``tags`` must be on a hit, and the filters keep the given content types and a creation-time range
    ``[created_from, created_before)``. Relevance ranks the newest RANKED_MATCHES_PER_WORKSPACE matches
    of each workspace; the date order is exact."""
    configs = await read_search_configs(conn)
    sql, params = search_statement(configs, workspace_ids, query, limit, offset, tags, **options)
    cur = await conn.execute(sql, params)
    return await cur.fetchall()  # type: ignore[return-value]


# The configurations this process's last search was run with. A search sends them as constants and its
# statement says whether they are still search_settings'; when not (a change, or another database), it
# reads them and runs once more. So no search spends a round trip on reading them.
_last_configs: SearchConfigs | None = None


async def search_json(
    conn: AsyncConnection[Any],
    workspaces: WorkspaceIds | WorkspaceQuery,
    query: str,
    limit: int,
    offset: int,
    tags: Sequence[str] = (),
    *,
    timeout_ms: int = 0,
    **options: Unpack[SearchOptions],
) -> tuple[bytes, bool]:
    """The hits :func:`search` reads, as the JSON array of the API's SearchHit objects (the snippet
    HTML-escaped, its matches in ``<mark>``), built by PostgreSQL, and whether a next page exists.
    ``workspaces`` may be a (subquery, parameter) pair instead of ids. With ``timeout_ms``, the
    statement is cancelled after that long (TimeoutError)."""
    global _last_configs  # one value per process, replaced whole

    async def run(configs: SearchConfigs) -> tuple[str, bool, bool]:
        sql, params = search_statement(
            configs, workspaces, query, limit, offset, tags, **options, as_json=True
        )
        row = await _fetch_one_within(conn, sql, params, timeout_ms)
        return (row["items"], row["more"], row["settled"]) if isinstance(row, dict) else row  # type: ignore[no-any-return]

    configs = _last_configs or await read_search_configs(conn)
    items, more, settled = await run(configs)
    if not settled:  # a result of a moment ago should a second change come in between
        configs = await read_search_configs(conn)
        items, more, _ = await run(configs)
    _last_configs = configs
    return items.encode(), bool(more)


async def _fetch_one_within(
    conn: AsyncConnection[Any], sql: str, params: dict[str, Any], timeout_ms: int
) -> Any:
    """The statement's one row; with ``timeout_ms``, cancelled in the server after that long, by the
    cancel request psycopg sends when the wait is interrupted (TimeoutError). A per-search
    ``SET LOCAL statement_timeout`` in the same round trip cost PostgreSQL 0.3-1 ms a search; this
    costs a timer, and a cancel connection only when it fires."""
    async with asyncio.timeout(timeout_ms / 1000 if timeout_ms else None):
        cur = await conn.execute(sql, params)
        row = await cur.fetchone()
    assert row is not None
    return row
