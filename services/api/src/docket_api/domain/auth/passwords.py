"""Password hashing with argon2id, run off the event loop because it is deliberately slow."""

from __future__ import annotations

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# Verified against when the account does not exist, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("docket-timing-equaliser")


async def hash_password(password: str) -> str:
    """Hash a new password."""
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check ``password`` against ``stored_hash``; a missing hash costs as much as a wrong password."""

    def check() -> bool:
        try:
            return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)
