"""HTTP Range requests (RFC 9110): one byte range, or the whole file."""

from __future__ import annotations

import re

from docket_core.http.problems import Problem

_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) asked for, None for the whole file; 416 when it cannot be met."""
    if not header or size == 0:
        return None
    match = _SINGLE_RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or another unit: answering with the whole file is allowed
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise Problem(
            416,
            f"The range {header} is outside the file's {size} bytes.",
            slug="range-not-satisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end
