"""Password hashing with argon2id: off the event loop, and never more at once than memory allows.

Each argon2id hash holds ``memory_cost`` (64 MiB with the library's RFC 9106 low-memory profile) for
as long as it runs, so a burst of logins could otherwise take the process past its memory limit. A
process runs at most ``slots`` hashes at once; the next requests wait their turn for up to
PASSWORD_HASH_WAIT_SECONDS, then get 503 with ``Retry-After``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from docket_api.domain.auth.metrics import PASSWORD_HASH_REJECTIONS
from docket_core.http.problems import Problem

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
HASH_MEMORY_BYTES = _hasher.memory_cost * 1024
# The share of the memory limit that hashes may hold at once; the rest is the process itself,
# requests in flight and upload buffers.
HASH_MEMORY_SHARE = 0.25
# Verified against when the account does not exist, so both paths cost the same time (and a slot).
_DUMMY_HASH = _hasher.hash("docket-timing-equaliser")

T = TypeVar("T")


def hashing_slots(memory_limit_bytes: int, workers: int = 1) -> int:
    """How many hashes one of ``workers`` server processes may run at once within the memory limit."""
    budget = memory_limit_bytes * HASH_MEMORY_SHARE / max(workers, 1)
    return max(1, int(budget // HASH_MEMORY_BYTES))


class PasswordHashing:
    """Hashes and checks passwords in worker threads, at most ``slots`` at a time."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._admission = anyio.CapacityLimiter(slots)
        # the threads get their own pool, so hashing never takes the default pool's threads from
        # the handlers that run in it
        self._threads = anyio.CapacityLimiter(slots)

    async def hash(self, password: str) -> str:
        """Hash a new password."""
        return await self._run(lambda: _hasher.hash(password))

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Check ``password`` against ``stored_hash``; a missing hash costs as much as a wrong password."""

        def check() -> bool:
            try:
                return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
            except (VerificationError, InvalidHashError):
                return False

        return await self._run(check)

    async def _run(self, work: Callable[[], T]) -> T:
        await self._take_slot()
        try:
            return await anyio.to_thread.run_sync(work, limiter=self._threads)
        finally:
            self._admission.release()

    async def _take_slot(self) -> None:
        try:
            self._admission.acquire_nowait()
            return
        except anyio.WouldBlock:
            pass
        with anyio.move_on_after(self.wait_seconds):
            await self._admission.acquire()  # FIFO: the longest waiting request goes first
            return
        PASSWORD_HASH_REJECTIONS.inc()  # counted, not logged: a flood would flood the logs too
        raise Problem(
            503,
            "Too many sign-ins at once; try again in a moment.",
            slug="password-hashing-busy",
            headers={"Retry-After": str(max(1, math.ceil(self.wait_seconds)))},
        )
