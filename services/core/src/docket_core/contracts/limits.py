"""Upload limits that the web (before it forwards a body) and the API (while it stores one) both apply."""

from __future__ import annotations

DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Room for the multipart framing around a file: boundaries, part headers, a long filename.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024


def upload_body_limit(max_upload_bytes: int, files: int = 1) -> int:
    """The largest multipart body that can carry ``files`` files of at most ``max_upload_bytes`` each."""
    return files * (max_upload_bytes + MULTIPART_ALLOWANCE_BYTES)


def declared_body_too_large(content_length: str | None, max_upload_bytes: int) -> bool:
    """Whether a request's ``Content-Length`` already says its one file cannot fit.

    A missing or malformed header says nothing; the body is then measured while it streams.
    """
    declared = (content_length or "").strip()
    return declared.isdigit() and int(declared) > upload_body_limit(max_upload_bytes)
