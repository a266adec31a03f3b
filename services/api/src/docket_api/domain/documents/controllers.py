"""``/api/v1/documents``: upload, list, read, edit, download, delete, reprocess and live status."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Response, ServerSentEvent, Stream
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from redis.exceptions import RedisError

from docket_api.domain import patterns
from docket_api.domain.audit.caller import Caller, provide_caller
from docket_api.domain.documents.cursor import DOCUMENT_CURSOR
from docket_api.domain.documents.events import (
    STATUS_EVENT_SCHEMA,
    live_status_unavailable,
    status_stream,
    subscribe,
)
from docket_api.domain.documents.filenames import content_disposition
from docket_api.domain.documents.ranges import parse_range
from docket_api.domain.documents.schemas import (
    DocumentDetail,
    DocumentOut,
    DocumentPage,
    DocumentPatch,
    tag_filter,
)
from docket_api.domain.documents.service import DocumentService
from docket_api.domain.documents.sniff import ALLOWED
from docket_api.domain.documents.upload import FILE_FIELD, WORKSPACE_FIELD
from docket_api.domain.operations import media_types_operation, multipart_file_operation
from docket_api.domain.responses import AUTH_PROBLEM_RESPONSES, problem_spec
from docket_core.contracts import DocumentStatus, document_events_channel
from docket_core.http.conditional import none_match
from docket_core.http.paced_body import request_body

DOCUMENT_RESPONSES = {
    **AUTH_PROBLEM_RESPONSES,
    403: problem_spec("Your role in the document's workspace (or your token's scope) does not allow this"),
    404: problem_spec("No such document (or it is in a workspace you are not a member of)"),
}
LIST_RESPONSES = {
    **AUTH_PROBLEM_RESPONSES,
    403: problem_spec("Your token's scope does not allow reading documents"),
    404: problem_spec("No such workspace (or you are not a member)"),
}
EDIT_RESPONSES = {
    **DOCUMENT_RESPONSES,
    403: problem_spec(
        "Your role (or token) does not allow editing, or `quota-tags`: the workspace holds as many "
        "tags as it may"
    ),
}
WORKSPACE_QUERY = QueryParameter(
    description="The workspace (default: all of yours for reading; your personal one for uploads)"
)
TAG_QUERY = QueryParameter(description="Only documents with this tag (repeat for several: all must match)",
                           max_items=10)  # fmt: skip
UPLOAD_DESCRIPTION = (
    "The target workspace is `workspace_id`, in the query or as a form field (before the file, a refusal "
    "comes before the file is read); without either, your personal workspace (a token limited to one "
    "workspace: that one). "
    "The body is read at a minimum pace (UPLOAD_MIN_BYTES_PER_SECOND after UPLOAD_GRACE_SECONDS, and "
    "within UPLOAD_MAX_SECONDS in all) and held in memory or TMPDIR; only then are the bytes, the row "
    "and the processing job stored, together. Each refusal is a problem with its own `type`: "
    "`urn:docket:problem:<slug>`, the slugs named below."
)
UPLOAD_RESPONSES = {
    **AUTH_PROBLEM_RESPONSES,
    403: problem_spec(
        "Your role in the workspace (or your token's scope) does not allow uploads, or a workspace quota is "
        "full: `quota-stored-bytes` (QUOTA_STORED_BYTES; the file does not fit) or `quota-documents` "
        "(QUOTA_DOCUMENTS); `limit` and `used` say how full"
    ),
    404: problem_spec("No such workspace (or you are not a member)"),
    408: problem_spec(
        "The body arrived too slowly: `upload-too-slow` (below UPLOAD_MIN_BYTES_PER_SECOND after "
        "UPLOAD_GRACE_SECONDS) or `upload-too-long` (over UPLOAD_MAX_SECONDS); nothing is stored"
    ),
    409: problem_spec(
        "`duplicate-document`: the same bytes are in the workspace already; `existing_id` names it; or "
        "`workspace-conflict`: the query and the form field name different workspaces"
    ),
    413: problem_spec("`file-too-large`: the file is larger than MAX_UPLOAD_BYTES"),
    415: problem_spec(
        "`unsupported-type` (not PDF, text, Markdown, HTML, CSV, JSON, Word, Excel, PowerPoint or "
        "OpenDocument), or `multipart-required`"
    ),
    429: problem_spec(
        "`rate-limited`, or `quota-uploads-in-flight`: QUOTA_UPLOADS_IN_FLIGHT uploads of yours are "
        "already in progress; `Retry-After` says when to try again"
    ),
    503: problem_spec(
        "`upload-capacity`: this server holds as many upload bodies as it may (UPLOAD_SPOOL_MAX_BYTES); "
        "`Retry-After` says when to try again"
    ),
}
REPROCESS_RESPONSES = {
    **DOCUMENT_RESPONSES,
    409: problem_spec(
        "`reprocess-already-queued`: the document's processing job is still queued or running, so "
        "nothing new was queued; `document_status` and `job_status` say where it is"
    ),
}
UPLOAD_OPERATION = multipart_file_operation(
    FILE_FIELD,
    WORKSPACE_FIELD,
    "One file in the field `file`: PDF, plain text, Markdown, HTML, CSV, JSON, DOCX, XLSX, PPTX, "
    "ODT, ODS or ODP, told by its bytes",
    "Minutes of the meeting: the budget was approved.\n",
)
TITLE_PREFIX = QueryParameter(max_length=200, pattern=patterns.WITHOUT_NUL, description="Title prefix")
# a document comes back in the type its bytes were sniffed as
DOWNLOAD_OPERATION = media_types_operation([200, 206], ALLOWED)
THUMBNAIL_OPERATION = media_types_operation([200], ["image/webp"])
EVENTS_OPERATION = media_types_operation([200], ["text/event-stream"], STATUS_EVENT_SCHEMA)


def provide_documents(request: Request[Any, Any, Any]) -> DocumentService:
    return request.app.state.documents  # type: ignore[no-any-return]


class DocumentController(Controller):
    path = "/api/v1/documents"
    tags = ["documents"]
    security = [{"BearerToken": []}]
    dependencies = {
        "caller": Provide(provide_caller, sync_to_thread=False),
        "documents": Provide(provide_documents, sync_to_thread=False),
    }

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,  # the upload enforces MAX_UPLOAD_BYTES while it streams
        summary="Upload one file (multipart/form-data, field 'file')",
        description=UPLOAD_DESCRIPTION,
        responses=UPLOAD_RESPONSES,
        operation_class=UPLOAD_OPERATION,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        documents: NamedDependency[DocumentService],
        workspace_id: Annotated[uuid.UUID | None, WORKSPACE_QUERY] = None,
    ) -> Response[DocumentOut]:
        headers = request.headers
        created = await documents.upload(
            caller,
            workspace_id,
            headers.get("content-type"),
            headers.get("content-length"),
            request_body(request.receive),
        )
        return Response(
            created, status_code=HTTP_201_CREATED, headers={"Location": f"{self.path}/{created.id}"}
        )

    @get(
        "/",
        summary="List the documents of your workspaces (or of one), newest first",
        responses=LIST_RESPONSES,
    )
    async def list_documents(
        self,
        caller: NamedDependency[Caller],
        documents: NamedDependency[DocumentService],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, DOCUMENT_CURSOR] = None,
        status: FromQuery[DocumentStatus | None] = None,
        q: Annotated[str | None, TITLE_PREFIX] = None,
        workspace_id: Annotated[uuid.UUID | None, WORKSPACE_QUERY] = None,
        tag: Annotated[list[str] | None, TAG_QUERY] = None,
    ) -> Response[DocumentPage]:
        # PostgreSQL builds the body (the same JSON a DocumentPage encodes to); it passes through as is
        body = await documents.page_json(caller, workspace_id, limit, cursor, status, q, tag_filter(tag))
        return Response(body, media_type=MediaType.JSON)  # type: ignore[arg-type]

    @get(
        "/{document_id:uuid}",
        summary="A document's metadata and text preview (supports If-None-Match)",
        responses={
            **DOCUMENT_RESPONSES,
            304: ResponseSpec(None, description="Not modified: `If-None-Match` names the current `ETag`"),
        },
    )
    async def get_document(
        self,
        request: Request[Any, Any, Any],
        document_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        documents: NamedDependency[DocumentService],
    ) -> Response[DocumentDetail]:
        found = await documents.get(caller, document_id, request.headers.get("if-none-match"))
        # a cache may keep it, but asks every time (the caller's access is checked on each request), and
        # never hands one caller's copy to another
        headers = {"ETag": found.etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
        if found.document is None:
            return Response(None, status_code=304, headers=headers)  # type: ignore[arg-type]
        return Response(found.document, headers=headers)

    @patch("/{document_id:uuid}", summary="Change a document's title and/or its tags (editor)",
           responses=EDIT_RESPONSES)  # fmt: skip
    async def update_document(
        self,
        document_id: FromPath[uuid.UUID],
        data: JSONBody[DocumentPatch],
        caller: NamedDependency[Caller],
        documents: NamedDependency[DocumentService],
    ) -> DocumentDetail:
        return await documents.update(caller, document_id, data)

    @get(
        "/{document_id:uuid}/content",
        summary="Download the original file (supports Range and If-None-Match)",
        operation_class=DOWNLOAD_OPERATION,
        responses={
            **DOCUMENT_RESPONSES,
            206: ResponseSpec(None, description="The requested byte range (with `Content-Range`)"),
            304: ResponseSpec(None, description="Not modified: `If-None-Match` names the current `ETag`"),
            416: problem_spec("The range is outside the file"),
        },
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        document_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        documents: NamedDependency[DocumentService],
    ) -> Response[Any]:
        found = await documents.download(caller, document_id)
        headers = {
            "ETag": found.etag,
            "Accept-Ranges": "bytes",
            "Content-Disposition": content_disposition(found.filename),
            "Cache-Control": "private, no-cache",
        }
        if none_match(request.headers.get("if-none-match"), found.etag):
            return Response(None, status_code=304, headers=headers)
        byte_range = parse_range(request.headers.get("range"), found.size)
        start, end = byte_range or (0, found.size - 1)
        headers["Content-Length"] = str(max(end - start + 1, 0))
        status = 200
        if byte_range is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{found.size}"
        return Stream(
            documents.stream(found.blob_id, start, end) if found.size else iter(()),
            status_code=status,
            media_type=found.content_type,
            headers=headers,
        )

    @get(
        "/{document_id:uuid}/thumbnail",
        summary="The first page as a WebP thumbnail, at most 320 px wide (supports If-None-Match)",
        operation_class=THUMBNAIL_OPERATION,
        responses={
            **DOCUMENT_RESPONSES,
            304: ResponseSpec(None, description="Not modified: `If-None-Match` names the current `ETag`"),
            404: problem_spec("`document-not-found`, or `thumbnail-not-found`: the document has none"),
        },
    )
    async def thumbnail(
        self,
        request: Request[Any, Any, Any],
        document_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        documents: NamedDependency[DocumentService],
    ) -> Response[Any]:
        webp, etag = await documents.thumbnail(caller, document_id)
        # a thumbnail is made from the document's bytes, which never change: cache it for a year; a
        # reprocessed document with a new thumbnail gets a new ETag (and the web a new URL)
        headers = {"ETag": etag, "Cache-Control": "private, max-age=31536000, immutable"}
        if none_match(request.headers.get("if-none-match"), etag):
            return Response(None, status_code=304, headers=headers)
        return Response(webp, media_type="image/webp", headers=headers)

    @delete("/{document_id:uuid}", status_code=HTTP_204_NO_CONTENT, summary="Delete a document",
            responses=DOCUMENT_RESPONSES)  # fmt: skip
    async def delete_document(
        self,
        document_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        documents: NamedDependency[DocumentService],
    ) -> None:
        await documents.delete(caller, document_id)

    @post("/{document_id:uuid}/reprocess", status_code=HTTP_202_ACCEPTED, summary="Run the pipeline again",
          responses=REPROCESS_RESPONSES)  # fmt: skip
    async def reprocess(
        self,
        document_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        documents: NamedDependency[DocumentService],
    ) -> DocumentOut:
        return await documents.reprocess(caller, document_id)

    @get(
        "/{document_id:uuid}/events",
        summary="Server-Sent Events with each status change until the document is ready or failed",
        operation_class=EVENTS_OPERATION,
        responses={
            **DOCUMENT_RESPONSES,
            503: problem_spec("Redis is unreachable for a moment (or the token check is); retry"),
        },
    )
    async def events(
        self,
        request: Request[Any, Any, Any],
        document_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        documents: NamedDependency[DocumentService],
    ) -> ServerSentEvent:
        redis, channel = request.app.state.redis, document_events_channel(str(document_id))
        # subscribe before reading the status, so no change can slip between the two
        try:
            pubsub = await subscribe(redis, channel)
        except (RedisError, OSError):
            raise live_status_unavailable() from None
        try:
            current = await documents.status(caller, document_id)
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        stream = status_stream(
            redis,
            channel,
            pubsub,
            current,
            lambda: documents.status(caller, document_id),
            request.app.state.lifecycle,
        )
        return ServerSentEvent(stream, headers={"Cache-Control": "no-cache"})
