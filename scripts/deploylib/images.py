"""Images by digest: what the registry says a tag is, and the digests the build handed over."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def inspect_raw_command(reference: str) -> list[str]:
    """Prints the manifest (an index, with the build's attestations) exactly as the registry serves it."""
    return ["docker", "buildx", "imagetools", "inspect", "--raw", reference]


def manifest_digest(raw: bytes) -> str:
    """A manifest's digest is the SHA-256 of its bytes (`imagetools inspect --raw` adds no newline)."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_digests(pairs: Iterable[str], services: Iterable[str]) -> dict[str, str]:
    """`api=sha256:…` pairs into {service: digest}; raises ValueError naming the bad pair."""
    known = tuple(services)
    digests: dict[str, str] = {}
    for pair in pairs:
        service, _, digest = pair.partition("=")
        if service not in known:
            raise ValueError(f"--digest {pair!r}: the service must be one of {', '.join(known)}")
        if not DIGEST.match(digest):
            raise ValueError(f"--digest {pair!r}: the digest must be sha256: and 64 lowercase hex digits")
        if service in digests and digests[service] != digest:
            raise ValueError(f"--digest {service}= was given twice, with different digests")
        digests[service] = digest
    return digests


def check_digest(reference: str, found: str | None, expected: str | None) -> list[str]:
    """The tag exists and, when the build named a digest, still points at it."""
    if found is None:
        return [f"image {reference} does not exist (or is not readable with the registry login)"]
    if expected is not None and found != expected:
        return [f"image {reference} is now {found}, not the built {expected}: the tag was pushed over"]
    return []


def pinned(reference: str, digest: str) -> str:
    """`repo:tag@sha256:…`: the runtime pulls by the digest; the tag stays readable in `kubectl get`."""
    return f"{reference}@{digest}"
