"""``If-None-Match`` as RFC 9110 section 13.1.2 reads it: a list of entity tags, or ``*``."""

from __future__ import annotations


def none_match(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as the RFC asks for this header), or is
    ``*``: then a GET answers 304 Not Modified."""
    if header is None:
        return False
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.removeprefix("W/") == etag.removeprefix("W/"):
            return True
    return False
