"""Hold one upload's bytes while the client sends them, so no database connection waits on a client.

A :class:`Spool` keeps the file in memory up to ``UPLOAD_SPOOL_MEMORY_BYTES`` and then in an unnamed
file in TMPDIR (``tempfile.SpooledTemporaryFile``: on Linux the file has no name, so nothing is left
behind even if the process dies). It hashes the bytes as they arrive. Every spool of this process
draws on one :class:`SpoolBudget` of ``UPLOAD_SPOOL_MAX_BYTES``, so concurrent uploads cannot fill
the pod's size-limited /tmp; an upload that finds it full is refused with a 503 and ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import AsyncIterator
from types import TracebackType

from docket_core.http.problems import Problem
from docket_core.metrics import UPLOAD_REFUSALS, UPLOAD_SPOOL_BYTES

SPOOL_FULL_RETRY_SECONDS = 30


class SpoolBudget:
    """The bytes every upload of this process may hold at once, in memory and in TMPDIR together."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.held = 0

    def take(self, size: int) -> None:
        if self.held + size > self.max_bytes:
            UPLOAD_REFUSALS.labels("spool_full").inc()
            raise Problem(
                503,
                "Docket is receiving too many uploads right now; try again shortly.",
                slug="upload-capacity",
                headers={"Retry-After": str(SPOOL_FULL_RETRY_SECONDS), "Connection": "close"},
            )
        self.held += size
        UPLOAD_SPOOL_BYTES.set(self.held)

    def give(self, size: int) -> None:
        self.held -= size
        UPLOAD_SPOOL_BYTES.set(self.held)


class Spool:
    """One file's bytes, hashed as they arrive; use it as a context manager so they are always dropped."""

    def __init__(self, budget: SpoolBudget, memory_bytes: int) -> None:
        self.budget = budget
        self.memory_bytes = memory_bytes
        # max_size 0 would mean "never roll over"; 1 keeps "0 = straight to disk" true for any real file
        self.file = tempfile.SpooledTemporaryFile(max_size=max(memory_bytes, 1))  # noqa: SIM115  # closed in __exit__
        self.size = 0
        self.digest = hashlib.sha256()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.file.close()
        self.budget.give(self.size)

    @property
    def on_disk(self) -> bool:
        return self.size > self.memory_bytes

    async def write(self, data: bytes) -> None:
        self.budget.take(len(data))
        self.size += len(data)
        self.digest.update(data)
        if self.on_disk:  # this write rolls the file over to disk, or it is there already
            await asyncio.to_thread(self.file.write, data)
        else:
            self.file.write(data)

    async def chunks(self, chunk_bytes: int) -> AsyncIterator[bytes]:
        """The spooled bytes from the start, ``chunk_bytes`` at a time."""
        self.file.seek(0)
        while True:
            data = (
                await asyncio.to_thread(self.file.read, chunk_bytes)
                if self.on_disk
                else self.file.read(chunk_bytes)
            )
            if not data:
                return
            yield data
