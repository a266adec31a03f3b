"""Server-side sessions in Redis: the browser holds only a random id, in an HttpOnly cookie.

The API's tokens never reach the browser. Redis keys are the SHA-256 of the cookie value, so a copy of
Redis does not give anyone a cookie that works.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar.datastructures import Cookie
from redis.asyncio import Redis

SESSION_PREFIX = "docket:web:session:"
LOCK_PREFIX = "docket:web:session-lock:"
LOCK_SECONDS = 15.0
LOCK_WAIT_SECONDS = 10.0
_ID_BYTES = 32


class Session(msgspec.Struct, frozen=True):
    """One signed-in browser: who it is and the API tokens the web uses for it."""

    id: str
    email: str
    access_token: str
    refresh_token: str
    access_expires_at: float

    def with_tokens(self, pair: dict[str, Any]) -> Session:
        """This session holding a fresh token pair from the API."""
        return msgspec.structs.replace(
            self,
            access_token=str(pair["access_token"]),
            refresh_token=str(pair["refresh_token"]),
            access_expires_at=time.time() + float(pair.get("expires_in", 0)),
        )

    @property
    def access_expiring(self) -> bool:
        """The access token has expired or will within a few seconds."""
        return time.time() >= self.access_expires_at - 5


class _Stored(msgspec.Struct):
    email: str
    access_token: str
    refresh_token: str
    access_expires_at: float


def _key(prefix: str, session_id: str) -> str:
    return prefix + hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Creates, reads, updates and ends sessions; one Redis key per session, expiring on its own."""

    def __init__(self, redis: Redis, ttl_seconds: int, secure: bool) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self.secure = secure
        # the __Host- prefix makes the browser refuse the cookie unless it is Secure, host-only, Path=/
        self.cookie_name = "__Host-docket_session" if secure else "docket_session"

    async def create(self, email: str, pair: dict[str, Any]) -> Session:
        """Start a session with a fresh random id (never one the browser proposed)."""
        blank = Session(
            id=secrets.token_urlsafe(_ID_BYTES),
            email=email,
            access_token="",
            refresh_token="",
            access_expires_at=0,
        )
        session = blank.with_tokens(pair)
        await self.save(session)
        return session

    async def load(self, session_id: str | None) -> Session | None:
        """The session this cookie value names, if it exists."""
        if not session_id or len(session_id) > 100:
            return None
        raw = await self.redis.get(_key(SESSION_PREFIX, session_id))
        if raw is None:
            return None
        try:
            stored = msgspec.json.decode(raw, type=_Stored)
        except msgspec.DecodeError:
            return None
        return Session(id=session_id, **msgspec.structs.asdict(stored))

    async def save(self, session: Session) -> None:
        stored = _Stored(
            session.email, session.access_token, session.refresh_token, session.access_expires_at
        )
        await self.redis.set(_key(SESSION_PREFIX, session.id), msgspec.json.encode(stored), ex=self.ttl)

    async def delete(self, session_id: str) -> None:
        await self.redis.delete(_key(SESSION_PREFIX, session_id))

    @contextlib.asynccontextmanager
    async def refresh_lock(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session's refresh lock, so parallel requests never spend one refresh token twice."""
        lock = self.redis.lock(
            _key(LOCK_PREFIX, session_id),
            timeout=LOCK_SECONDS,
            blocking_timeout=LOCK_WAIT_SECONDS,
            sleep=0.05,
        )
        acquired = await lock.acquire()
        try:
            yield
        finally:
            if acquired:
                with contextlib.suppress(Exception):  # it expired on its own; nothing to release
                    await lock.release()

    def cookie(self, session: Session) -> Cookie:
        """The cookie that names ``session``: HttpOnly, SameSite=Lax, Secure outside local/test."""
        return Cookie(
            key=self.cookie_name,
            value=session.id,
            max_age=self.ttl,
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="lax",
        )

    def expired_cookie(self) -> Cookie:
        """A cookie that makes the browser forget the session."""
        return Cookie(
            key=self.cookie_name,
            value="",
            max_age=0,
            expires=0,
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="lax",
        )
