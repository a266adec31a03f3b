"""``/api/v1/search``: find documents in your workspaces by what they say."""

from __future__ import annotations

import datetime as dt
import html
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from docket_api.domain import patterns
from docket_api.domain.audit.caller import Caller, provide_caller
from docket_api.domain.documents.controllers import LIST_RESPONSES, TAG_QUERY, WORKSPACE_QUERY
from docket_api.domain.documents.cursor import SEARCH_CURSOR, decode_offset, encode_offset
from docket_api.domain.documents.schemas import tag_filter
from docket_api.domain.workspaces.authz import Action, authorize, visible_workspaces
from docket_core.http.problems import Problem
from docket_core.read_routing import ReadRouter
from docket_core.tables.documents import HIT_END, HIT_START, search

MAX_QUERY_CHARS = 200


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
         responses=LIST_RESPONSES)  # fmt: skip
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
                description="websearch syntax; not blank",
            ),
        ],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
        cursor: Annotated[str | None, SEARCH_CURSOR] = None,
        workspace_id: Annotated[uuid.UUID | None, WORKSPACE_QUERY] = None,
        tag: Annotated[list[str] | None, TAG_QUERY] = None,
    ) -> SearchPage:
        query = q.strip()
        if not query:
            raise Problem(422, "The search query is empty.", slug="validation-error",
                          errors=[{"field": "q", "message": "must not be blank"}])  # fmt: skip
        offset = decode_offset(cursor)
        async with request.app.state.pool.connection() as conn:  # membership: always the primary's
            if workspace_id is not None:
                await authorize(conn, caller.principal, workspace_id, Action.READ_DOCUMENTS)
                workspaces = [workspace_id]
            else:
                workspaces = await visible_workspaces(conn, caller.principal)
        reads: ReadRouter = request.app.state.reads  # a replica when DATABASE_READ_URL is set
        rows = await reads.run(
            caller.user_id, lambda conn: search(conn, workspaces, query, limit, offset, tag_filter(tag))
        )
        items = [
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
        more = len(rows) > limit
        return SearchPage(
            query=query, items=items, next_cursor=encode_offset(offset + limit) if more else None
        )
