"""A target that is a local directory, typically the volume the backup CronJob mounts."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from docket_worker.backup.errors import BackupError
from docket_worker.backup.naming import partial_name


class DirectoryTarget:
    """Files in one directory, written under a hidden temporary name, fsynced, then renamed."""

    label = "dir"

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def ensure(self) -> None:
        """Create the directory if needed and check that we can write to it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(f"cannot create backup directory {self.root}: {exc.strerror}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise BackupError(f"backup directory {self.root} is not writable")

    def staging_path(self, file: str) -> Path:
        """Where ``file`` is written before it is renamed into place."""
        return self.root / partial_name(file)

    def path(self, file: str) -> Path:
        """Where ``file`` is once it is in place."""
        return self.root / file

    def files(self) -> dict[str, int]:
        if not self.root.is_dir():
            return {}
        found = {}
        for entry in os.scandir(self.root):
            with contextlib.suppress(FileNotFoundError):  # deleted while we looked
                if entry.is_file(follow_symlinks=False):
                    found[entry.name] = entry.stat().st_size
        return found

    def read(self, file: str) -> bytes:
        return (self.root / file).read_bytes()

    def write(self, file: str, data: bytes) -> None:
        with self._staged(file) as out:
            out.write(data)

    def store(self, file: str, source: Path) -> None:
        if source == self.staging_path(file):
            self._commit(source, file)
            return
        with open(source, "rb") as src, self._staged(file) as out:
            shutil.copyfileobj(src, out, 1 << 20)

    @contextlib.contextmanager
    def _staged(self, file: str) -> Iterator[BinaryIO]:
        """A file to write ``file`` into: fsynced and renamed into place if the block succeeds, else gone."""
        staging = self.staging_path(file)
        try:
            with open(staging, "wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            self._commit(staging, file)
        finally:
            staging.unlink(missing_ok=True)

    def fetch(self, file: str, scratch: Path) -> Path:
        path = self.root / file
        if not path.is_file():
            raise BackupError(f"{file} is not in {self.root}")
        return path

    def delete(self, file: str) -> None:
        (self.root / file).unlink(missing_ok=True)

    def _commit(self, staging: Path, file: str) -> None:
        os.replace(staging, self.root / file)
        fsync_directory(self.root)


def fsync_directory(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
