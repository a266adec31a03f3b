"""Names of backups and of the files that make one up, and the time each name encodes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

Kind = Literal["dump", "checksum", "manifest", "marker"]

_STAMP = "%Y%m%dT%H%M%SZ"
_SUFFIXES: dict[Kind, str] = {
    "dump": ".dump",
    "checksum": ".dump.sha256",
    "manifest": ".manifest.json",
    "marker": ".verified.json",
}
_FILE = re.compile(r"^(docket-\d{8}T\d{6}Z)(\.dump|\.dump\.sha256|\.manifest\.json|\.verified\.json)$")
_NAME = re.compile(r"^docket-\d{8}T\d{6}Z$")
_KINDS: dict[str, Kind] = {suffix: kind for kind, suffix in _SUFFIXES.items()}
PARTIAL_SUFFIX = ".partial"


def backup_name(at: dt.datetime) -> str:
    """The name of a backup taken at ``at`` (UTC, to the second)."""
    return "docket-" + at.astimezone(dt.UTC).strftime(_STAMP)


def created_at(name: str) -> dt.datetime:
    """The time a backup name encodes."""
    return dt.datetime.strptime(name.removeprefix("docket-"), _STAMP).replace(tzinfo=dt.UTC)


def is_backup_name(name: str) -> bool:
    """Whether ``name`` is a backup name such as ``docket-20250101T020000Z``."""
    return bool(_NAME.match(name))


def file_name(name: str, kind: Kind) -> str:
    """The file of ``kind`` that belongs to backup ``name``."""
    return name + _SUFFIXES[kind]


def parse_file(file: str) -> tuple[str, Kind] | None:
    """The backup and kind a file belongs to, or None for a file that is not part of a finished backup."""
    match = _FILE.match(file)
    return (match[1], _KINDS[match[2]]) if match else None


def partial_name(file: str) -> str:
    """The hidden name a file is written under before it is renamed into place."""
    return f".{file}{PARTIAL_SUFFIX}"


def is_partial(file: str) -> bool:
    """Whether ``file`` is the temporary name of a backup file still (or never finished) being written."""
    return file.startswith(".docket-") and file.endswith(PARTIAL_SUFFIX)


def normalise(argument: str) -> str:
    """A backup name from what an operator typed: the name itself or any of its files."""
    parsed = parse_file(argument)
    return parsed[0] if parsed else argument
