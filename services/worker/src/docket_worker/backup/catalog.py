"""The backups a target holds, and the debris interrupted runs left behind."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from docket_worker.backup.errors import BackupError
from docket_worker.backup.manifest import Verification, decode_verification
from docket_worker.backup.naming import Kind, created_at, file_name, is_partial, normalise, parse_file
from docket_worker.backup.target import Target


@dataclass(frozen=True)
class Backup:
    """One dump and its sidecars on one target."""

    name: str
    created_at: dt.datetime
    files: dict[Kind, int]
    verification: Verification | None = field(default=None, compare=False)

    @property
    def dump_size(self) -> int:
        """Size of the dump file in bytes."""
        return self.files.get("dump", 0)

    @property
    def complete(self) -> bool:
        """Its dump, checksum and manifest are all there (runs write the dump's final name last)."""
        return {"dump", "checksum", "manifest"} <= self.files.keys()

    @property
    def good(self) -> bool:
        """Complete, and not found corrupt by the last verification."""
        return self.complete and (self.verification is None or self.verification.ok)

    def all_files(self) -> list[str]:
        """Its files, the dump first, so a deletion that stops half-way leaves only debris."""
        order: list[Kind] = ["dump", "checksum", "manifest", "marker"]
        return [file_name(self.name, kind) for kind in order if kind in self.files]


@dataclass(frozen=True)
class Catalog:
    """A target's backups, newest first, and the files that belong to no backup."""

    backups: list[Backup]
    debris: list[str]

    def good(self) -> list[Backup]:
        """The good backups, newest first."""
        return [b for b in self.backups if b.good]

    def find(self, name: str | None) -> Backup:
        """The backup called ``name``, or the newest good one when ``name`` is None."""
        if name is None:
            good = self.good()
            if not good:
                raise BackupError("there is no complete backup yet")
            return good[0]
        wanted = normalise(name)
        for backup in self.backups:
            if backup.name == wanted:
                return backup
        raise BackupError(f"no backup called {wanted}")


def read_catalog(target: Target) -> Catalog:
    """Group a target's files into backups; sidecars without a dump and temporary files are debris."""
    files = target.files()
    grouped: dict[str, dict[Kind, int]] = {}
    debris = []
    for file, size in sorted(files.items()):
        parsed = parse_file(file)
        if parsed:
            grouped.setdefault(parsed[0], {})[parsed[1]] = size
        elif is_partial(file):
            debris.append(file)
    backups = []
    for name, kinds in grouped.items():
        if "dump" not in kinds:
            debris.extend(file_name(name, kind) for kind in kinds)
            continue
        marker = decode_verification(target.read(file_name(name, "marker"))) if "marker" in kinds else None
        backups.append(Backup(name, created_at(name), kinds, marker))
    backups.sort(key=lambda b: b.created_at, reverse=True)
    return Catalog(backups, sorted(debris))
