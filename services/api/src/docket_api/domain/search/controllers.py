"""``/api/v1/search``: find your documents by what they say."""

from __future__ import annotations

import datetime as dt
import html
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from docket_api.domain import patterns
from docket_api.domain.auth.deps import provide_principal
from docket_api.domain.auth.tokens import Principal
from docket_api.domain.documents.cursor import SEARCH_CURSOR, decode_offset, encode_offset
from docket_api.domain.responses import AUTH_PROBLEM_RESPONSES
from docket_core.http.problems import Problem
from docket_core.read_routing import ReadRouter
from docket_core.tables.documents import HIT_END, HIT_START, search

MAX_QUERY_CHARS = 200


class SearchHit(msgspec.Struct):
    id: str
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
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @get("/", summary="Full-text search over your ready documents", responses=AUTH_PROBLEM_RESPONSES)
    async def search_documents(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        q: Annotated[
            str,
            QueryParameter(
                min_length=1,
                max_length=MAX_QUERY_CHARS,
                pattern=patterns.SEARCH_TEXT,
                description="websearch syntax; not blank",
            ),
        ],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
        cursor: Annotated[str | None, SEARCH_CURSOR] = None,
    ) -> SearchPage:
        query = q.strip()
        if not query:
            raise Problem(422, "The search query is empty.", slug="validation-error",
                          errors=[{"field": "q", "message": "must not be blank"}])  # fmt: skip
        offset = decode_offset(cursor)
        reads: ReadRouter = request.app.state.reads  # a replica when DATABASE_READ_URL is set
        rows = await reads.run(
            principal.user_id, lambda conn: search(conn, principal.user_id, query, limit, offset)
        )
        items = [
            SearchHit(
                id=str(row["id"]),
                title=row["title"],
                filename=row["filename"],
                content_type=row["content_type"],
                created_at=row["created_at"],
                rank=float(row["rank"]),
                snippet_html=snippet_html(row["snippet"] or ""),
            )
            for row in rows[:limit]
        ]
        more = len(rows) > limit
        return SearchPage(
            query=query, items=items, next_cursor=encode_offset(offset + limit) if more else None
        )
