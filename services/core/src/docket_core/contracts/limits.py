"""Upload limits that the web (before it forwards a body) and the API (while it stores one) both apply:
the size of one file, and the pace at which its body must arrive."""

from __future__ import annotations

import math

import msgspec

DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Room for the multipart framing around a file: boundaries, part headers, a long filename.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024

# An upload body is kept in memory up to this many bytes, then spooled to a file in TMPDIR.
DEFAULT_UPLOAD_SPOOL_MEMORY_BYTES = 1024 * 1024
# After the grace period a body must keep arriving at this average rate: 8 KiB/s is 64 kbit/s, below
# any working mobile link, far above a client that trickles bytes to hold a request open.
DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND = 8 * 1024
DEFAULT_UPLOAD_GRACE_SECONDS = 10.0
# However fast it goes, no upload may take longer: 20 MB in 15 minutes needs about 23 KB/s.
DEFAULT_UPLOAD_MAX_SECONDS = 900.0


def upload_body_limit(max_upload_bytes: int, files: int = 1) -> int:
    """The largest multipart body that can carry ``files`` files of at most ``max_upload_bytes`` each."""
    return files * (max_upload_bytes + MULTIPART_ALLOWANCE_BYTES)


def declared_body_too_large(content_length: str | None, max_upload_bytes: int) -> bool:
    """Whether a request's ``Content-Length`` already says its one file cannot fit.

    A missing or malformed header says nothing; the body is then measured while it streams.
    """
    declared = (content_length or "").strip()
    return declared.isdigit() and int(declared) > upload_body_limit(max_upload_bytes)


def file_too_large(size: int, max_upload_bytes: int) -> bool:
    """Whether a file of ``size`` bytes is over the limit (a file of exactly the limit is not)."""
    return size > max_upload_bytes


class UploadPace(msgspec.Struct, frozen=True, kw_only=True):
    """How fast an upload body must arrive, like Apache's mod_reqtimeout ``body=grace,MinRate=rate``.

    The client has ``grace_seconds`` for free; each byte it sends buys ``1 / min_bytes_per_second``
    seconds more, so after the grace period it must keep an average of ``min_bytes_per_second``.
    And whatever the rate, the body must be complete within ``max_seconds``.
    """

    min_bytes_per_second: int = DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND
    grace_seconds: float = DEFAULT_UPLOAD_GRACE_SECONDS
    max_seconds: float = DEFAULT_UPLOAD_MAX_SECONDS

    def deadline(self, started: float, received: int) -> tuple[float, bool]:
        """When more bytes must have arrived, for a body begun at ``started`` that has sent ``received``
        bytes so far (same clock as ``started``); and whether that is the absolute cap (``True``) or the
        minimum rate (``False``). A rate of 0 means no minimum rate."""
        cap = started + self.max_seconds
        if self.min_bytes_per_second <= 0:
            return cap, True
        by_rate = started + self.grace_seconds + received / self.min_bytes_per_second
        return (cap, True) if by_rate >= cap else (by_rate, False)

    def problems(self) -> list[str]:
        """What is wrong with these values, named as the settings that hold them."""
        found = []
        if self.min_bytes_per_second < 0:
            found.append("UPLOAD_MIN_BYTES_PER_SECOND must be 0 (no minimum) or positive")
        if not 0 <= self.grace_seconds < math.inf:
            found.append("UPLOAD_GRACE_SECONDS must be 0 or positive")
        if not 0 < self.max_seconds < math.inf:
            found.append("UPLOAD_MAX_SECONDS must be positive")
        return found
