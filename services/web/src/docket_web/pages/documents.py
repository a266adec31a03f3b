"""The document list, a document's page, its download, reprocessing and deletion (with confirmation)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from litestar import Controller, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Stream, Template

from docket_core.contracts import DOCUMENT_STATUSES, DocumentStatus
from docket_web.server.api import Api, raise_for_status
from docket_web.server.forms import RefusedError, change, field
from docket_web.server.render import AnyRequest, Pager, page, provide_api, with_query
from docket_web.server.tags import MAX_TAG_FILTERS, chosen_tags, split_tags
from docket_web.server.workspaces import load_workspaces, parse_workspace_id

PAGE_SIZE = 20
MAX_TAG_CHIPS = 30  # the workspace's most used tags offered as filters
MAX_TITLE_FORM_CHARS = 400  # twice what the API accepts, so its own message says what is wrong
MAX_TAGS_FORM_CHARS = 2000
# headers of the API's download that the browser needs, passed through unchanged
DOWNLOAD_HEADERS = (
    "content-type",
    "content-length",
    "content-disposition",
    "content-range",
    "content-encoding",
    "accept-ranges",
    "etag",
    "last-modified",
    "cache-control",
)
THUMBNAIL_HEADERS = ("etag", "cache-control")
DOWNLOAD_REQUEST_HEADERS = ("range", "if-range", "if-none-match")
# a downloaded file is never a page of this site: even if a browser rendered it, it could run nothing
DOWNLOAD_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"

Cursor = Annotated[str | None, QueryParameter(max_length=400)]
BackStack = Annotated[list[str] | None, QueryParameter(max_items=40)]
WorkspaceQuery = Annotated[str, QueryParameter(max_length=40)]
TagQuery = Annotated[list[str] | None, QueryParameter(max_items=MAX_TAG_FILTERS)]


class DocumentController(Controller):
    path = "/documents"
    dependencies = {"api": Provide(provide_api)}

    @get("/")
    async def list_documents(
        self,
        request: AnyRequest,
        api: NamedDependency[Api],
        q: Annotated[str, QueryParameter(max_length=200)] = "",
        status: FromQuery[DocumentStatus | Literal[""]] = "",
        cursor: Cursor = None,
        back: BackStack = None,
        workspace: WorkspaceQuery = "",
        tag: TagQuery = None,
    ) -> Template:
        """The workspace's documents, newest first, filtered and paged; live badges for the unfinished."""
        api.require_session()
        ws = await load_workspaces(api, workspace)
        q = q.strip()
        tags = chosen_tags(tag)
        params = {
            "limit": PAGE_SIZE,
            "cursor": cursor,
            "status": status,
            "q": q,
            "workspace_id": ws.current.id,
            "tag": tags,
        }
        listing = await api.get_json("/api/v1/documents", params)
        tag_counts = await api.get_json(f"/api/v1/workspaces/{ws.current.id}/tags")
        filters = {"q": q, "status": status, **ws.query, "tag": tags}
        pager = Pager("/documents", filters, cursor, back or [], listing.get("next_cursor"))
        return page(
            request,
            "documents.html",
            ws=ws,
            documents=listing["items"],
            q=q,
            status_filter=status,
            statuses=DOCUMENT_STATUSES,
            pager=pager,
            filtered=bool(q or status or tags),
            tags=tags,
            tag_counts=tag_counts[:MAX_TAG_CHIPS],
            live=not (cursor or q or status or tags),
        )

    @get("/newest")
    async def newest(
        self, request: AnyRequest, api: NamedDependency[Api], workspace: WorkspaceQuery = ""
    ) -> dict[str, str | None]:
        """The id of the workspace's newest document, for the list page's script to notice new ones
        with one small API call (it reloads the list only when this changes)."""
        api.require_session()
        workspace_id = parse_workspace_id(workspace) or (await load_workspaces(api)).current.id
        params = {"limit": 1, "workspace_id": workspace_id}
        listing = await api.get_json("/api/v1/documents", params)
        items = listing.get("items") or []
        return {"id": str(items[0]["id"]) if items else None}

    @get("/{document_id:uuid}")
    async def show(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Template:
        """One document: its details, its text preview and what the user's role lets them do with it."""
        return await self._document_page(request, api, document_id)

    async def _document_page(
        self,
        request: AnyRequest,
        api: Api,
        document_id: uuid.UUID,
        *,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Template:
        document = await api.get_json(f"/api/v1/documents/{document_id}")
        ws = await load_workspaces(api, document["workspace_id"])
        edit = form or {"title": document["title"], "tags": ", ".join(document.get("tags") or [])}
        return page(request, "document.html", status=status, ws=ws, document=document, error=error, edit=edit)

    @post("/{document_id:uuid}/edit")
    async def edit(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """Change the title and the tags (comma-separated; the API checks their count and form)."""
        form = await request.form()
        title = field(form, "title", MAX_TITLE_FORM_CHARS).strip()
        tags_text = field(form, "tags", MAX_TAGS_FORM_CHARS)
        body: dict[str, Any] = {"tags": split_tags(tags_text)}
        if title:
            body["title"] = title
        try:
            await change(api, "PATCH", f"/api/v1/documents/{document_id}", body)
        except RefusedError as refusal:
            return await self._document_page(
                request,
                api,
                document_id,
                status=refusal.status,
                error=refusal.message,
                form={"title": title, "tags": tags_text},
            )
        return Redirect(f"/documents/{document_id}", status_code=303)

    @get("/{document_id:uuid}/download")
    async def download(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """Stream the original file from the API, keeping its name, type, length, ETag and ranges."""
        forward = {name: value for name in DOWNLOAD_REQUEST_HEADERS if (value := request.headers.get(name))}
        upstream = await api.send(
            "GET",
            f"/api/v1/documents/{document_id}/content",
            headers=forward,
            stream=True,
            timeouts=api.stream_timeout,
        )
        if upstream.status_code >= 400 and upstream.status_code != 416:
            await upstream.aread()
            await upstream.aclose()
            raise_for_status(upstream)
        headers = {name: upstream.headers[name] for name in DOWNLOAD_HEADERS if name in upstream.headers}
        headers["Content-Security-Policy"] = DOWNLOAD_CSP
        headers.setdefault("content-disposition", "attachment")

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    yield chunk
            finally:
                await upstream.aclose()

        return Stream(
            body(),
            status_code=upstream.status_code,
            headers=headers,
            media_type=headers.pop("content-type", "application/octet-stream"),
            background=BackgroundTask(upstream.aclose),
        )

    @get("/{document_id:uuid}/thumbnail")
    async def thumbnail(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """The document's thumbnail from the API, with its ETag and caching (the URL names its version)."""
        forward = {"if-none-match": value} if (value := request.headers.get("if-none-match")) else {}
        upstream = await api.send("GET", f"/api/v1/documents/{document_id}/thumbnail", headers=forward)
        raise_for_status(upstream)
        headers = {name: upstream.headers[name] for name in THUMBNAIL_HEADERS if name in upstream.headers}
        headers["Content-Security-Policy"] = DOWNLOAD_CSP
        return Response(
            upstream.content if upstream.status_code == 200 else b"",
            status_code=upstream.status_code,
            headers=headers,
            media_type=upstream.headers.get("content-type", "image/webp"),
        )

    @get("/{document_id:uuid}/delete")
    async def confirm_delete(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Template:
        """Ask before deleting (a page of its own, so it works without a script)."""
        document = await api.get_json(f"/api/v1/documents/{document_id}")
        ws = await load_workspaces(api, document["workspace_id"])
        return page(request, "delete.html", ws=ws, document=document)

    @post("/{document_id:uuid}/delete", status_code=303)
    async def delete(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Redirect:
        """Delete the document at the API, then go back to its workspace's list."""
        document = await api.get_json(f"/api/v1/documents/{document_id}")
        ws = await load_workspaces(api, document["workspace_id"])
        response = await api.send("DELETE", f"/api/v1/documents/{document_id}")
        raise_for_status(response)
        return Redirect(with_query("/documents", notice="deleted", **ws.query), status_code=303)

    @post("/{document_id:uuid}/reprocess", status_code=303)
    async def reprocess(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Redirect:
        """Run the document through the pipeline again."""
        response = await api.send("POST", f"/api/v1/documents/{document_id}/reprocess")
        raise_for_status(response)
        return Redirect(f"/documents/{document_id}", status_code=303)
