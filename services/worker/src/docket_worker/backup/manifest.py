"""What a backup records about itself (manifest and checksum sidecar) and about its verification."""

from __future__ import annotations

import msgspec

from docket_worker.backup.errors import BackupError


class Manifest(msgspec.Struct, kw_only=True, frozen=True):
    """The facts about one dump, written beside it as ``<name>.manifest.json``."""

    format: int = 1
    name: str
    created_at: str
    database: str
    server_version: str
    pg_dump_version: str
    database_size_bytes: int
    dump_size_bytes: int
    dump_sha256: str
    duration_seconds: float
    schema_version: int
    row_counts: dict[str, int]


class Verification(msgspec.Struct, kw_only=True, frozen=True):
    """The outcome of the last `backup verify`, written beside the dump as ``<name>.verified.json``."""

    ok: bool
    verified_at: str
    checks: list[str]
    detail: str
    dump_sha256: str


def encode(record: Manifest | Verification) -> bytes:
    """Pretty JSON for a file an operator may open."""
    return msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n"


def decode_manifest(data: bytes, file: str) -> Manifest:
    """Parse a manifest, naming the file if it is unreadable."""
    try:
        return msgspec.json.decode(data, type=Manifest)
    except msgspec.DecodeError as exc:
        raise BackupError(f"{file} is not a valid manifest: {exc}") from None


def decode_verification(data: bytes) -> Verification | None:
    """Parse a verification marker; an unreadable one counts as none."""
    try:
        return msgspec.json.decode(data, type=Verification)
    except msgspec.DecodeError:
        return None


def checksum_line(sha256: str, dump_file: str) -> bytes:
    """A sidecar in ``sha256sum`` format, so ``sha256sum -c`` can check the dump too."""
    return f"{sha256}  {dump_file}\n".encode()


def parse_checksum(data: bytes, file: str) -> str:
    """The hex digest in a ``sha256sum`` sidecar."""
    digest = data.decode(errors="replace").split(maxsplit=1)[0] if data.strip() else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise BackupError(f"{file} does not hold a SHA-256 digest")
    return digest
