"""The strong ETag of ``GET /api/v1/documents/{id}``, made from the row's small columns only, so that a
conditional GET can answer 304 without reading the document's text."""

from __future__ import annotations

import datetime as dt
import hashlib

import msgspec

from docket_api.domain.documents.schemas import PREVIEW_CHARS, DocumentDetail

# The body is the row rendered by this code: a release that adds a field or changes the preview's length
# renders the same row differently, so its tags must differ from the previous release's.
REPRESENTATION = hashlib.blake2b(
    repr(([f.encode_name for f in msgspec.structs.fields(DocumentDetail)], PREVIEW_CHARS)).encode(),
    digest_size=4,
).hexdigest()


def document_etag(updated_at: dt.datetime, row_version: str) -> str:
    """The quoted tag of one version of a document's detail: every change a reader can see (title, tags,
    status, text, counts, thumbnail, ...) is an UPDATE of its row, and each UPDATE writes a new version.
    Hashed, so the tag does not show the server's transaction counter."""
    source = f"{REPRESENTATION}|{updated_at.isoformat()}|{row_version}"
    return f'"{hashlib.blake2b(source.encode(), digest_size=12).hexdigest()}"'
