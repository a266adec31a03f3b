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
from docket_web.server.render import AnyRequest, Pager, page, provide_api, with_query

PAGE_SIZE = 20
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
DOWNLOAD_REQUEST_HEADERS = ("range", "if-range", "if-none-match")
# a downloaded file is never a page of this site: even if a browser rendered it, it could run nothing
DOWNLOAD_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"

Cursor = Annotated[str | None, QueryParameter(max_length=400)]
BackStack = Annotated[list[str] | None, QueryParameter(max_items=40)]


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
    ) -> Template:
        """The user's documents, newest first, filtered and paged; live badges for the unfinished."""
        api.require_session()
        q = q.strip()
        params = {"limit": PAGE_SIZE, "cursor": cursor, "status": status, "q": q}
        listing = await api.get_json("/api/v1/documents", params)
        pager = Pager(
            "/documents", {"q": q, "status": status}, cursor, back or [], listing.get("next_cursor")
        )
        return page(
            request,
            "documents.html",
            documents=listing["items"],
            q=q,
            status_filter=status,
            statuses=DOCUMENT_STATUSES,
            pager=pager,
            filtered=bool(q or status),
        )

    @get("/{document_id:uuid}")
    async def show(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Template:
        """One document: its details, its text preview and what can be done with it."""
        document = await api.get_json(f"/api/v1/documents/{document_id}")
        return page(request, "document.html", document=document)

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

    @get("/{document_id:uuid}/delete")
    async def confirm_delete(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Template:
        """Ask before deleting (a page of its own, so it works without a script)."""
        document = await api.get_json(f"/api/v1/documents/{document_id}")
        return page(request, "delete.html", document=document)

    @post("/{document_id:uuid}/delete", status_code=303)
    async def delete(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Redirect:
        """Delete the document at the API, then go back to the list."""
        response = await api.send("DELETE", f"/api/v1/documents/{document_id}")
        raise_for_status(response)
        return Redirect(with_query("/documents", notice="deleted"), status_code=303)

    @post("/{document_id:uuid}/reprocess", status_code=303)
    async def reprocess(
        self, request: AnyRequest, api: NamedDependency[Api], document_id: FromPath[uuid.UUID]
    ) -> Redirect:
        """Run the document through the pipeline again."""
        response = await api.send("POST", f"/api/v1/documents/{document_id}/reprocess")
        raise_for_status(response)
        return Redirect(f"/documents/{document_id}", status_code=303)
