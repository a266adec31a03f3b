"""Where backups are kept: the interface every storage target implements, and the configured targets."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from docket_worker.backup.directory import DirectoryTarget
from docket_worker.backup.errors import BackupError
from docket_worker.backup.settings import BackupSettings


class Target(Protocol):
    """A flat store of named files whose writes are atomic: a reader sees a whole file or none."""

    @property
    def label(self) -> str:
        """``dir`` or ``s3``: what `--from` selects."""
        ...

    def describe(self) -> str:
        """The location, for messages."""
        ...

    def files(self) -> dict[str, int]:
        """Every file and its size in bytes."""
        ...

    def read(self, file: str) -> bytes:
        """A small file's contents."""
        ...

    def write(self, file: str, data: bytes) -> None:
        """Create or replace a small file atomically."""
        ...

    def store(self, file: str, source: Path) -> None:
        """Put the local file ``source`` under ``file`` atomically (it may be moved rather than copied)."""
        ...

    def fetch(self, file: str, scratch: Path) -> Path:
        """A local path holding ``file``: the file itself, or a copy made in ``scratch``."""
        ...

    def delete(self, file: str) -> None:
        """Remove a file; removing one that is already gone is not an error."""
        ...


def directory_target(settings: BackupSettings) -> DirectoryTarget:
    """The BACKUP_DIR target, which every backup is written to first."""
    if not settings.backup_dir:
        raise BackupError("BACKUP_DIR is not set: it names the directory (the mounted volume) backups go to")
    return DirectoryTarget(Path(settings.backup_dir))


def remote_targets(settings: BackupSettings) -> list[Target]:
    """The S3 bucket if BACKUP_S3_URL is set: copies of what the directory holds."""
    if not settings.backup_s3_url:
        return []
    from docket_worker.backup.s3 import S3Target

    return [S3Target.from_settings(settings)]


def configured_targets(settings: BackupSettings) -> list[Target]:
    """The directory, then the S3 bucket if BACKUP_S3_URL is set."""
    return [directory_target(settings), *remote_targets(settings)]


def select_target(settings: BackupSettings, label: str) -> Target:
    """The target `--from` names."""
    for target in configured_targets(settings):
        if target.label == label:
            return target
    raise BackupError(f"no {label} target is configured (set BACKUP_S3_URL for s3)")
