"""Decide a file's type from its first bytes, never from what the client claims."""

from __future__ import annotations

import codecs
import json
import os

SNIFF_BYTES = 8192
PDF = "application/pdf"
HTML = "text/html"
JSON = "application/json"
CSV = "text/csv"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
ALLOWED = (PDF, HTML, JSON, CSV, MARKDOWN, TEXT)
_HTML_OPENERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")
_MARKDOWN_EXTENSIONS = {".md", ".markdown", ".mdown", ".mkd"}


class UnsupportedTypeError(ValueError):
    """The bytes are not one of the allowed document types."""


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        decoder.decode(head, final=False)  # a multi-byte character may be cut at the end
    except UnicodeDecodeError:
        return False
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return controls <= len(head) // 100


def detect(head: bytes, filename: str) -> str:
    """The content type of a file starting with ``head`` (at most SNIFF_BYTES of it)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if not head:
        raise UnsupportedTypeError("the file is empty")
    if not _looks_like_text(head):
        raise UnsupportedTypeError(
            "the file is binary data, not one of PDF, text, Markdown, HTML, CSV or JSON"
        )
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    extension = os.path.splitext(filename.lower())[1]
    if text[:15].lower().startswith(_HTML_OPENERS):
        return HTML
    if text[:1] in (b"{", b"[") and (extension == ".json" or _parses_as_json(head)):
        return JSON
    if extension == ".csv" or extension == ".tsv":
        return CSV
    if extension in _MARKDOWN_EXTENSIONS:
        return MARKDOWN
    return TEXT


def _parses_as_json(head: bytes) -> bool:
    if len(head) >= SNIFF_BYTES:
        return False  # cannot tell from a prefix; the extension decides
    try:
        json.loads(head)
    except ValueError:
        return False
    return True
