"""Decide a file's type from its first bytes, never from what the client claims."""

from __future__ import annotations

import json
import os

from docket_api.domain.documents.containers import ZIP_MAGIC, office_type
from docket_core import text_encoding
from docket_core.contracts.formats import (
    ACCEPTED_TYPES,
    CSV,
    HTML,
    JPEG,
    JSON,
    MARKDOWN,
    PDF,
    PNG,
    TEXT,
    TIFF,
)

SNIFF_BYTES = 8192
ALLOWED = ACCEPTED_TYPES
_HTML_OPENERS = ("<!doctype html", "<html", "<head", "<body", "<!--")
_IMAGE_MAGICS = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
)
_MARKDOWN_EXTENSIONS = {".md", ".markdown", ".mdown", ".mkd"}


class UnsupportedTypeError(ValueError):
    """The bytes are not one of the allowed document types."""


def head_text(head: bytes) -> str | None:
    """``head`` decoded as text (a BOM's encoding, UTF-8, or the one detected), or None for binary data."""
    decoded = text_encoding.decode(head, final=False)
    if decoded is None or not text_encoding.looks_like_text(decoded.text):
        return None
    return decoded.text


def detect(head: bytes, filename: str) -> str:
    """The content type of a file starting with ``head`` (at most SNIFF_BYTES of it)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if not head:
        raise UnsupportedTypeError("the file is empty")
    for magic, image_type in _IMAGE_MAGICS:
        if head.startswith(magic):
            return image_type
    if head.startswith(ZIP_MAGIC):
        found = office_type(head)
        if found is None:
            raise UnsupportedTypeError(
                "the file is a ZIP archive, not a Word, Excel, PowerPoint or OpenDocument file"
            )
        return found
    decoded = head_text(head)
    if decoded is None:
        raise UnsupportedTypeError("the file is binary data, not a document or text")
    text = decoded.lstrip("\ufeff \t\r\n")
    extension = os.path.splitext(filename.lower())[1]
    if text[:15].lower().startswith(_HTML_OPENERS):
        return HTML
    if text[:1] in ("{", "[") and (extension == ".json" or _parses_as_json(head, decoded)):
        return JSON
    if extension == ".csv" or extension == ".tsv":
        return CSV
    if extension in _MARKDOWN_EXTENSIONS:
        return MARKDOWN
    return TEXT


def _parses_as_json(head: bytes, text: str) -> bool:
    if len(head) >= SNIFF_BYTES:
        return False  # cannot tell from a prefix; the extension decides
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
