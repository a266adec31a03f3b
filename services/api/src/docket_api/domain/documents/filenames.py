"""Make an uploaded file name safe to store and to send back in Content-Disposition."""

from __future__ import annotations

import os
import unicodedata
from urllib.parse import quote

MAX_NAME_LENGTH = 200
FALLBACK_NAME = "document"


def sanitise_filename(raw: str | None) -> str:
    """Keep only the last path part, without control characters or leading dots."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, extension = os.path.splitext(name)
        name = stem[: MAX_NAME_LENGTH - len(extension[:20])] + extension[:20]
    return name or FALLBACK_NAME


def title_from_filename(filename: str) -> str:
    """A first title, until the worker finds a better one in the text."""
    stem = os.path.splitext(filename)[0].replace("_", " ").strip()
    return stem or filename


def content_disposition(filename: str) -> str:
    """An RFC 6266 attachment header with an ASCII fallback and the UTF-8 name."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    ascii_name = ascii_name.replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
