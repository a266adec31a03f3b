"""``/search``: full-text search over the user's ready documents, with highlighted snippets."""

from __future__ import annotations

import html
from typing import Annotated, Literal

from litestar import get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from litestar.response import Template
from markupsafe import Markup, escape

from docket_core.contracts.formats import ACCEPTED_TYPES
from docket_web.server.api import Api
from docket_web.server.render import AnyRequest, Pager, page, provide_api
from docket_web.server.tags import MAX_TAG_FILTERS, chosen_tags
from docket_web.server.workspaces import load_workspaces

MAX_QUERY_CHARS = 200
PAGE_SIZE = 10
TypeFilter = Literal[("", *ACCEPTED_TYPES)]  # type: ignore[valid-type]
_MARK_OPEN, _MARK_CLOSE = "\x00mark-open\x00", "\x00mark-close\x00"


def safe_snippet(snippet_html: str) -> Markup:
    """The API's snippet with only its ``<mark>`` tags kept as HTML; everything else is escaped again.

    The API already escapes the text; unescaping and escaping once more changes nothing for its output,
    but means a snippet can never put any other markup on the page.
    """
    text = snippet_html.replace("\x00", "").replace("<mark>", _MARK_OPEN).replace("</mark>", _MARK_CLOSE)
    safe = str(escape(html.unescape(text)))  # a NUL cannot come out of unescape: the markers stay ours
    return Markup(safe.replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>"))  # noqa: S704


@get("/search", dependencies={"api": Provide(provide_api)})
async def search(
    request: AnyRequest,
    api: NamedDependency[Api],
    q: Annotated[str, QueryParameter(max_length=MAX_QUERY_CHARS)] = "",
    cursor: Annotated[str | None, QueryParameter(max_length=100)] = None,
    back: Annotated[list[str] | None, QueryParameter(max_items=40)] = None,
    workspace: Annotated[str, QueryParameter(max_length=40)] = "",
    tag: Annotated[list[str] | None, QueryParameter(max_items=MAX_TAG_FILTERS)] = None,
    content_type: Annotated[TypeFilter, QueryParameter(name="type")] = "",
    sort: Annotated[Literal["relevance", "date"], QueryParameter()] = "relevance",
) -> Template:
    """Search the ready documents of the current workspace; without a query, explain what search does."""
    api.require_session()
    ws = await load_workspaces(api, workspace)
    query = q.strip()
    tags = chosen_tags(tag)
    hits: list[dict[str, object]] = []
    pager = None
    if query:
        params: dict[str, object] = {
            "q": query,
            "cursor": cursor,
            "limit": PAGE_SIZE,
            "workspace_id": ws.current.id,
            "tag": tags,
            "sort": sort,
        }
        if content_type:
            params["type"] = content_type
        found = await api.get_json("/api/v1/search", params)
        hits = [
            {**hit, "snippet": safe_snippet(str(hit.get("snippet_html") or ""))} for hit in found["items"]
        ]
        filters = {"q": query, **ws.query, "tag": tags, "type": content_type, "sort": sort}
        pager = Pager("/search", filters, cursor, back or [], found.get("next_cursor"))
    return page(
        request,
        "search.html",
        ws=ws,
        q=query,
        tags=tags,
        hits=hits,
        pager=pager,
        searched=bool(query),
        type_filter=content_type,
        types=ACCEPTED_TYPES,
        sort=sort,
    )
