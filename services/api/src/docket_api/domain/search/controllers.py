"""``/api/v1/search``: find documents in your workspaces by what they say."""

from __future__ import annotations

import datetime as dt
import html
import logging
import uuid
from typing import Annotated, Any, Literal

import msgspec
import psycopg
from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from psycopg import AsyncConnection

from docket_api.domain import patterns
from docket_api.domain.audit.caller import Caller, provide_caller
from docket_api.domain.documents.controllers import LIST_RESPONSES, TAG_QUERY, WORKSPACE_QUERY
from docket_api.domain.documents.cursor import SEARCH_CURSOR, decode_offset, encode_offset
from docket_api.domain.documents.schemas import tag_filter
from docket_api.domain.responses import problem_spec
from docket_api.domain.workspaces.authz import Action, authorize, member_workspaces, visible_workspaces
from docket_core.contracts.formats import ACCEPTED_TYPES
from docket_core.db import autocommit_if_idle
from docket_core.http.problems import Problem
from docket_core.read_routing import ReadRouter
from docket_core.tables import search_query
from docket_core.tables.documents import HIT_END, HIT_START, WorkspaceIds, WorkspaceQuery, search_json

MAX_QUERY_CHARS = 200
logger = logging.getLogger("docket.search")
SEARCH_RESPONSES = {
    **LIST_RESPONSES,
    503: problem_spec("`search-timeout`: the search ran past SEARCH_TIMEOUT_MS; retry after Retry-After"),
}
ContentType = Literal[ACCEPTED_TYPES]  # type: ignore[valid-type]
Sort = Literal["relevance", "date"]


def _day_start(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


class SearchHit(msgspec.Struct):
    id: str
    workspace_id: str
    title: str
    filename: str
    content_type: str
    created_at: dt.datetime
    rank: float
    snippet_html: str


class SearchPage(msgspec.Struct):
    query: str
    items: list[SearchHit]
    next_cursor: str | None


def snippet_html(raw: str) -> str:
    """The headline as safe HTML: the text escaped, the hits wrapped in <mark>."""
    return html.escape(raw).replace(HIT_START, "<mark>").replace(HIT_END, "</mark>")


class SearchController(Controller):
    path = "/api/v1/search"
    tags = ["search"]
    security = [{"BearerToken": []}]
    dependencies = {"caller": Provide(provide_caller, sync_to_thread=False)}

    @get("/", summary="Full-text search over the ready documents of your workspaces (or of one)",
         responses=SEARCH_RESPONSES)  # fmt: skip
    async def search_documents(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        q: Annotated[
            str,
            QueryParameter(
                min_length=1,
                max_length=MAX_QUERY_CHARS,
                pattern=patterns.SEARCH_TEXT,
                description=f"websearch syntax; not blank; at most {search_query.MAX_QUERY_WORDS} words",
            ),
        ],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
        cursor: Annotated[str | None, SEARCH_CURSOR] = None,
        workspace_id: Annotated[uuid.UUID | None, WORKSPACE_QUERY] = None,
        tag: Annotated[list[str] | None, TAG_QUERY] = None,
        content_type: Annotated[
            list[ContentType] | None,
            QueryParameter(
                name="type", max_items=len(ACCEPTED_TYPES), description="Only these types (repeatable)"
            ),
        ] = None,
        created_from: Annotated[
            dt.date | None, QueryParameter(name="from", description="Uploaded on or after this day (UTC)")
        ] = None,
        created_to: Annotated[
            dt.date | None, QueryParameter(name="to", description="Uploaded on or before this day (UTC)")
        ] = None,
        sort: Annotated[
            Sort,
            QueryParameter(
                description="relevance (default): the newest 200 matches of each workspace, best first; "
                "date: every match, newest first"
            ),
        ] = "relevance",
    ) -> Response[SearchPage]:
        query = q.strip()
        if not query:
            raise Problem(422, "The search query is empty.", slug="validation-error",
                          errors=[{"field": "q", "message": "must not be blank"}])  # fmt: skip
        words = search_query.word_count(query)
        if words > (most := search_query.MAX_QUERY_WORDS):
            raise Problem(422, f"The search query has more than {most} words.", slug="validation-error",
                          errors=[{"field": "q", "message": f"at most {most} words"}])  # fmt: skip
        if created_from and created_to and created_from > created_to:
            raise Problem(422, "The date range ends before it starts.", slug="validation-error",
                          errors=[{"field": "to", "message": "must not be before from"}])  # fmt: skip
        offset = decode_offset(cursor)

        async def readable(conn: AsyncConnection[Any]) -> list[uuid.UUID]:  # membership: the primary's
            if workspace_id is not None:
                await authorize(conn, caller.principal, workspace_id, Action.READ_DOCUMENTS)
                return [workspace_id]
            return await visible_workspaces(conn, caller.principal)

        async def hits(
            conn: AsyncConnection[Any], workspaces: WorkspaceIds | WorkspaceQuery
        ) -> tuple[bytes, bool]:
            async with autocommit_if_idle(conn):  # no BEGIN and COMMIT around the reads
                return await search_json(
                    conn,
                    workspaces,
                    query,
                    limit,
                    offset,
                    tag_filter(tag),
                    content_types=content_type or (),
                    created_from=_day_start(created_from),
                    created_before=_day_start(created_to + dt.timedelta(days=1)) if created_to else None,
                    sort=sort,
                    timeout_ms=timeout_ms,
                )

        reads: ReadRouter = request.app.state.reads  # a replica when DATABASE_READ_URL is set
        timeout_ms = request.app.state.settings.search_timeout_ms
        members = member_workspaces(caller.principal) if workspace_id is None and reads.primary_only else None
        try:
            # memberships and documents on one server: the subquery goes into the statement
            if members is not None:
                items, more = await reads.run(caller.user_id, lambda conn: hits(conn, members))
            else:  # one checkout without a replica
                items, more = await reads.run_after(caller.user_id, readable, hits)
        except (TimeoutError, psycopg.errors.QueryCanceled):  # SEARCH_TIMEOUT_MS, or DB_STATEMENT_TIMEOUT_MS
            logger.warning("search cancelled after %d ms (%d words)", timeout_ms, words)
            raise Problem(
                503, "The search took too long; try again, or search for fewer or rarer words.",
                slug="search-timeout", headers={"Retry-After": "1"},
            ) from None  # fmt: skip
        # PostgreSQL built the items (the JSON a list of SearchHit encodes to); they pass through as is
        cursor_json = msgspec.json.encode(encode_offset(offset + limit) if more else None)
        body = (
            b'{"query":'
            + msgspec.json.encode(query)
            + b',"items":'
            + items
            + b',"next_cursor":'
            + cursor_json
            + b"}"
        )
        return Response(body, media_type=MediaType.JSON)  # type: ignore[arg-type]
