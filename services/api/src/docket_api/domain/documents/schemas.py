"""Response bodies of the documents endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

PREVIEW_CHARS = 2000


class DocumentOut(msgspec.Struct):
    id: str
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


class DocumentDetail(DocumentOut):
    preview: str | None = None


class DocumentPage(msgspec.Struct):
    items: list[DocumentOut]
    next_cursor: str | None


def document_out(row: dict[str, Any]) -> DocumentOut:
    return DocumentOut(**_common(row))


def document_detail(row: dict[str, Any]) -> DocumentDetail:
    preview = row.get("preview")
    return DocumentDetail(**_common(row), preview=preview)


def _common(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
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
    }
