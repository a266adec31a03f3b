"""The one error type backup commands raise; its message is what the operator reads."""

from __future__ import annotations


class BackupError(RuntimeError):
    """A backup, verification or restore step failed; the message says which and why."""
