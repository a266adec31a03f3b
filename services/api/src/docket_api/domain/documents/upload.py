"""Stream one multipart file into the blob store, chunk by chunk, hashing and sniffing as it goes."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header
from psycopg import AsyncConnection

from docket_api.domain.documents.filenames import sanitise_filename
from docket_api.domain.documents.sniff import SNIFF_BYTES, UnsupportedTypeError, detect
from docket_core.contracts import declared_body_too_large, upload_body_limit
from docket_core.http.problems import Problem
from docket_core.tables.blobs import BlobStore

FILE_FIELD = "file"


@dataclass(frozen=True)
class StoredFile:
    blob_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: bytes


def too_large(limit: int) -> Problem:
    return Problem(
        413, f"The file is larger than the {limit // (1024 * 1024)} MB limit.", slug="file-too-large"
    )


def check_declared_length(content_length: str | None, limit: int) -> None:
    """Refuse at once an upload whose ``Content-Length`` already says it is too large."""
    if declared_body_too_large(content_length, limit):
        raise too_large(limit)


class _BlobWriter:
    """Re-chunks incoming pieces into the store's fixed chunk size; holds at most one chunk."""

    def __init__(
        self, conn: AsyncConnection[Any], store: BlobStore, blob_id: uuid.UUID, filename: str, limit: int
    ) -> None:
        self.conn, self.store, self.blob_id, self.filename, self.limit = conn, store, blob_id, filename, limit
        self.buffer = bytearray()
        self.seq = 0
        self.size = 0
        self.digest = hashlib.sha256()
        self.content_type: str | None = None
        self.chunk_bytes = store.chunk_bytes

    async def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise too_large(self.limit)
        self.digest.update(data)
        self.buffer += data
        if self.content_type is None and len(self.buffer) >= SNIFF_BYTES:
            self._sniff()
        while len(self.buffer) >= self.chunk_bytes:
            await self.store.append(self.conn, self.blob_id, self.seq, bytes(self.buffer[: self.chunk_bytes]))
            del self.buffer[: self.chunk_bytes]
            self.seq += 1

    async def close(self) -> StoredFile:
        if self.content_type is None:
            self._sniff()
        if self.buffer:
            await self.store.append(self.conn, self.blob_id, self.seq, bytes(self.buffer))
            self.buffer.clear()
        await self.store.finish(self.conn, self.blob_id, self.size)
        assert self.content_type is not None
        return StoredFile(self.blob_id, self.filename, self.content_type, self.size, self.digest.digest())

    def _sniff(self) -> None:
        if self.size == 0:
            raise Problem(
                422,
                "The file is empty.",
                slug="file-empty",
                errors=[{"field": FILE_FIELD, "message": "empty"}],
            )
        try:
            self.content_type = detect(bytes(self.buffer[:SNIFF_BYTES]), self.filename)
        except UnsupportedTypeError as exc:
            raise Problem(
                415,
                f"Unsupported file type: {exc}. Docket accepts PDF, text, Markdown, HTML, CSV and JSON.",
                slug="unsupported-type",
            ) from None


def multipart_boundary(content_type: str | None) -> str:
    media_type, options = parse_options_header(content_type or "")
    if media_type != "multipart/form-data" or not options.get("boundary"):
        raise Problem(
            415, "Upload the file as multipart/form-data in a field named 'file'.", slug="multipart-required"
        )
    return str(options["boundary"])


async def store_upload(
    conn: AsyncConnection[Any],
    store: BlobStore,
    content_type: str | None,
    body: AsyncIterator[bytes],
    limit: int,
) -> StoredFile:
    """Parse the request body and store its one file; the caller's transaction makes it all-or-nothing."""
    boundary = multipart_boundary(content_type)
    body_limit = upload_body_limit(limit)
    received = 0
    writer: _BlobWriter | None = None
    current_is_file = False
    stored: StoredFile | None = None
    try:
        with PushMultipartParser(boundary, max_segment_count=16, strict=True) as parser:
            async for chunk in body:
                received += len(chunk)
                if received > body_limit:
                    raise too_large(limit)
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        current_is_file = (
                            event.name == FILE_FIELD and event.filename is not None and not writer
                        )
                        if current_is_file:
                            filename = sanitise_filename(event.filename)
                            writer = _BlobWriter(conn, store, await store.create(conn), filename, limit)
                    elif event is None:
                        if current_is_file and writer is not None:
                            stored = await writer.close()
                        current_is_file = False
                    elif current_is_file and writer is not None:
                        await writer.feed(event)
    except MultipartError as exc:
        raise Problem(400, f"The multipart body is malformed: {exc}", slug="bad-multipart") from None
    if stored is None:
        raise Problem(422, "No file was sent: use a multipart field named 'file'.", slug="file-missing",
                      errors=[{"field": FILE_FIELD, "message": "required"}])  # fmt: skip
    return stored
