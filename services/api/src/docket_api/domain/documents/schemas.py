"""Response bodies of the documents endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from docket_api.domain import patterns
from docket_api.domain.workspaces.limits import MAX_TAG_CHARS, MAX_TAGS_PER_DOCUMENT

PREVIEW_CHARS = 2000
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TAG_CHARS, pattern=patterns.TAG)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=patterns.DISPLAY_NAME)]


# a filter value no tag can have: a filter with it matches nothing (PostgreSQL text holds no NUL)
IMPOSSIBLE_TAG = ""


def tag_filter(values: list[str] | None) -> list[str]:
    """The tag names a list or search filters by: blank values (an empty form field) are ignored; a
    value no tag could have (too long, or with NUL) is kept as one that matches nothing."""
    names = []
    for value in values or []:
        name = value.strip()
        if not name:
            continue
        names.append(IMPOSSIBLE_TAG if len(name) > MAX_TAG_CHARS or "\x00" in name else name)
    return names


class DocumentOut(msgspec.Struct):
    id: str
    workspace_id: str
    filename: str
    title: str
    content_type: str
    size_bytes: int
    sha256: str
    status: str
    failure_reason: str | None
    page_count: int | None
    word_count: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    tags: list[str] = msgspec.field(default_factory=list)
    # the encoding a text file was read in ("utf-8", "cp1252", "utf-16-le", …); null for PDF and office
    text_encoding: str | None = None
    # what a ready document's reader should know: "OCR read the first 50 of 200 scanned pages …"
    processing_notice: str | None = None
    # the ETag of the document's thumbnail (GET …/thumbnail); null when it has none
    thumbnail_etag: str | None = None


class DocumentPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A new title, and (when given) the complete new set of tags."""

    title: Title | None = None
    tags: Annotated[list[Tag], msgspec.Meta(max_length=MAX_TAGS_PER_DOCUMENT)] | None = None


class DocumentDetail(DocumentOut):
    preview: str | None = None


class DocumentPage(msgspec.Struct):
    items: list[DocumentOut]
    next_cursor: str | None


def document_out(row: dict[str, Any], tags: list[str] | None = None) -> DocumentOut:
    return DocumentOut(**_common(row), tags=tags or [])


def document_detail(row: dict[str, Any], tags: list[str] | None = None) -> DocumentDetail:
    preview = row.get("preview")
    return DocumentDetail(**_common(row), tags=tags or [], preview=preview)


def _common(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "workspace_id": str(row["workspace_id"]),
        "filename": row["filename"],
        "title": row["title"],
        "content_type": row["content_type"],
        "size_bytes": row["size_bytes"],
        "sha256": bytes(row["sha256"]).hex(),
        "status": row["status"],
        "failure_reason": row["failure_reason"],
        "page_count": row["page_count"],
        "word_count": row["word_count"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "text_encoding": row.get("text_encoding"),
        "processing_notice": row.get("processing_notice"),
        "thumbnail_etag": row.get("thumbnail_etag"),
    }
