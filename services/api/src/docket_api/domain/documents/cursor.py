"""Opaque pagination cursors: the position is encoded, never exposed as SQL."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import msgspec

from docket_core.http.problems import Problem


def encode_cursor(created_at: dt.datetime, document_id: uuid.UUID) -> str:
    raw = msgspec.json.encode([created_at.isoformat(), str(document_id)])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """The (created_at, id) a cursor stands for; 400 when it was not made by us."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, document_id = msgspec.json.decode(raw, type=tuple[dt.datetime, uuid.UUID])
    except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
        raise Problem(400, "The cursor is not valid; start again without one.", slug="bad-cursor") from None
    return created_at, document_id


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode({"o": offset})).rstrip(b"=").decode()


def decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        offset = int(msgspec.json.decode(raw, type=dict[str, int])["o"])
    except (ValueError, KeyError, msgspec.DecodeError, msgspec.ValidationError):
        raise Problem(400, "The cursor is not valid; start again without one.", slug="bad-cursor") from None
    if offset < 0:
        raise Problem(400, "The cursor is not valid; start again without one.", slug="bad-cursor")
    return offset
