"""Receive one multipart file into a :class:`Spool`, checking size and type as it arrives; then copy
the spooled bytes into the blob store inside the caller's (short) transaction.

Receiving touches no database connection: however slowly the client sends, it holds nothing shared.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header
from psycopg import AsyncConnection

from docket_api.domain.documents.filenames import sanitise_filename
from docket_api.domain.documents.sniff import SNIFF_BYTES, UnsupportedTypeError, detect
from docket_api.domain.documents.spool import Spool
from docket_core.contracts import declared_body_too_large, file_too_large, upload_body_limit
from docket_core.contracts.formats import ACCEPTED_SUMMARY
from docket_core.http.problems import Problem
from docket_core.metrics import UPLOAD_REFUSALS
from docket_core.tables.blobs import BlobStore

FILE_FIELD = "file"
WORKSPACE_FIELD = "workspace_id"  # read only when it comes before the file
MAX_WORKSPACE_FIELD_BYTES = 64
# called once the file's part begins, with the workspace field's value (None when absent); it may
# refuse the upload before a byte of the file is read
OnFile = Callable[[str | None], Awaitable[None]]


@dataclass(frozen=True)
class ReceivedFile:
    filename: str
    content_type: str
    size: int
    sha256: bytes
    late_workspace: str | None = None  # a workspace_id field that came after the file


def too_large(limit: int) -> Problem:
    """The one answer to a file over MAX_UPLOAD_BYTES, whether its length was declared or counted."""
    UPLOAD_REFUSALS.labels("too_large").inc()
    return Problem(
        413, f"The file is larger than the {limit // (1024 * 1024)} MB limit.", slug="file-too-large"
    )


def check_declared_length(content_length: str | None, limit: int) -> None:
    """Refuse at once an upload whose ``Content-Length`` already says it is too large."""
    if declared_body_too_large(content_length, limit):
        raise too_large(limit)


def multipart_boundary(content_type: str | None) -> str:
    media_type, options = parse_options_header(content_type or "")
    if media_type != "multipart/form-data" or not options.get("boundary"):
        raise Problem(
            415, "Upload the file as multipart/form-data in a field named 'file'.", slug="multipart-required"
        )
    return str(options["boundary"])


class _FilePart:
    """The file field's bytes: counted against the limit, sniffed once the head is in, then spooled."""

    def __init__(self, spool: Spool, filename: str, limit: int) -> None:
        self.spool, self.filename, self.limit = spool, filename, limit
        self.head = bytearray()
        self.content_type: str | None = None

    async def feed(self, data: bytes) -> None:
        if file_too_large(self.spool.size + len(data), self.limit):
            raise too_large(self.limit)
        if self.content_type is None:
            self.head += data[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._sniff()
        await self.spool.write(data)

    def close(self) -> ReceivedFile:
        if self.content_type is None:
            self._sniff()
        assert self.content_type is not None
        return ReceivedFile(self.filename, self.content_type, self.spool.size, self.spool.digest.digest())

    def _sniff(self) -> None:
        if not self.head:
            raise Problem(422, "The file is empty.", slug="file-empty",
                          errors=[{"field": FILE_FIELD, "message": "empty"}])  # fmt: skip
        try:
            self.content_type = detect(bytes(self.head), self.filename)
        except UnsupportedTypeError as exc:
            raise Problem(
                415,
                f"Unsupported file type: {exc}. Docket accepts {ACCEPTED_SUMMARY}.",
                slug="unsupported-type",
            ) from None


async def _no_check(_: str | None) -> None:
    return None


async def receive_upload(
    boundary: str, body: AsyncIterator[bytes], spool: Spool, limit: int, on_file: OnFile = _no_check
) -> ReceivedFile:
    """Parse the request body into ``spool``; the first field named ``file`` with a filename is the file,
    and a ``workspace_id`` field before it is handed to ``on_file``."""
    body_limit = upload_body_limit(limit)
    received = 0
    part: _FilePart | None = None
    in_file = False
    in_workspace = False
    workspace = bytearray()
    workspace_seen = False
    file_started = False
    late = False
    result: ReceivedFile | None = None
    try:
        with PushMultipartParser(boundary, max_segment_count=16, strict=True) as parser:
            async for chunk in body:
                received += len(chunk)
                if received > body_limit:
                    raise too_large(limit)
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        in_file = event.name == FILE_FIELD and event.filename is not None and part is None
                        if event.name == WORKSPACE_FIELD and workspace_seen:
                            raise bad_workspace_field("must come only once")
                        in_workspace = event.name == WORKSPACE_FIELD
                        if in_file:
                            await on_file(workspace.decode("utf-8", "replace") if workspace_seen else None)
                            file_started = True
                            part = _FilePart(spool, sanitise_filename(event.filename), limit)
                    elif event is None:
                        if in_file and part is not None:
                            result = part.close()
                        if in_workspace:
                            workspace_seen = True
                            late = file_started
                        in_file = in_workspace = False
                    elif in_file and part is not None:
                        await part.feed(event)
                    elif in_workspace:
                        workspace += event
                        if len(workspace) > MAX_WORKSPACE_FIELD_BYTES:
                            raise bad_workspace_field("must be a UUID")
    except MultipartError as exc:
        raise Problem(400, f"The multipart body is malformed: {exc}", slug="bad-multipart") from None
    if result is None:
        raise Problem(422, "No file was sent: use a multipart field named 'file'.", slug="file-missing",
                      errors=[{"field": FILE_FIELD, "message": "required"}])  # fmt: skip
    if late:
        return replace(result, late_workspace=workspace.decode("utf-8", "replace"))
    return result


def bad_workspace_field(message: str = "must be a UUID") -> Problem:
    return Problem(422, f"The form field workspace_id {message}.", slug="validation-error",
                   errors=[{"field": WORKSPACE_FIELD, "message": message}])  # fmt: skip


async def store_blob(conn: AsyncConnection[Any], store: BlobStore, spool: Spool) -> uuid.UUID:
    """Copy the spooled file into a new blob, in the caller's transaction."""
    blob_id = await store.create(conn)
    seq = 0
    async for data in spool.chunks(store.chunk_bytes):
        await store.append(conn, blob_id, seq, data)
        seq += 1
    await store.finish(conn, blob_id, spool.size)
    return blob_id
