"""Pagination cursors whose format the OpenAPI schema states exactly.

Every string that matches a pattern below is a position the server accepts, so a client (or a
fuzzer) holding the schema can never send a well-formed cursor that is refused. A cursor only moves
within the caller's own documents; the queries are scoped to the owner whatever it says.

The patterns read the same in Python's ``re`` and in ECMA-262 (JSON Schema): ``$(?!\\n)`` because
Python's ``$`` also matches before a final newline.
"""

from __future__ import annotations

import datetime as dt
import uuid

from litestar.params import QueryParameter

from docket_core.http.problems import Problem

# "<microseconds since 1970-01-01 UTC>.<document id, 32 hex digits>": the last row of the page
DOCUMENT_CURSOR = QueryParameter(
    max_length=50,
    pattern=r"^[0-9]{1,17}\.[0-9a-f]{32}$(?!\n)",
    description="`next_cursor` of the previous page: `<microseconds since the epoch>.<document id in hex>`",
)
# search pages by offset: "<results to skip>", at most this deep
MAX_SEARCH_OFFSET = 9999
SEARCH_CURSOR = QueryParameter(
    max_length=4,
    pattern=r"^[0-9]{1,4}$(?!\n)",
    description=f"`next_cursor` of the previous page: the results to skip (at most {MAX_SEARCH_OFFSET})",
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def bad_cursor() -> Problem:
    return Problem(400, "The cursor is not valid; start again without one.", slug="bad-cursor")


def encode_cursor(created_at: dt.datetime, document_id: uuid.UUID) -> str:
    return f"{(created_at - _EPOCH) // _MICROSECOND}.{document_id.hex}"


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """The (created_at, id) a cursor stands for; 400 when it is not one."""
    micros, _, hex_id = cursor.partition(".")
    try:
        if not micros.isascii() or not micros.isdigit() or len(micros) > 17:
            raise ValueError(cursor)
        return _EPOCH + int(micros) * _MICROSECOND, uuid.UUID(hex=hex_id)
    except ValueError:
        raise bad_cursor() from None


def encode_offset(offset: int) -> str | None:
    """The cursor of the search page that starts at ``offset``; None past the deepest page."""
    return str(offset) if offset <= MAX_SEARCH_OFFSET else None


def decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isascii() or not cursor.isdigit() or int(cursor) > MAX_SEARCH_OFFSET:
        raise bad_cursor()
    return int(cursor)
