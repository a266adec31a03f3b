"""Server-side sessions in Redis: the browser holds only a random id, in an HttpOnly cookie.

The API's tokens never reach the browser, and Redis never holds anything usable on its own: the key
is the SHA-256 of the cookie value, and the value (email, API tokens, times) is sealed with AES-GCM
under a key derived from the cookie value by HKDF-SHA256. A dump of Redis gives neither a cookie
that works nor a token; the cookie alone unlocks its own session and no other.

A session ends after SESSION_TTL_SECONDS without use (its Redis key's expiry, renewed on each use),
and SESSION_MAX_AGE_SECONDS after sign-in however much it is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar.datastructures import Cookie
from redis.asyncio import Redis

from docket_web.server.metrics import REFUSALS

SESSION_PREFIX = "docket:web:session:"
LOCK_PREFIX = "docket:web:session-lock:"
LOCK_SECONDS = 15.0
LOCK_WAIT_SECONDS = 10.0
_ID_BYTES = 32
_NONCE_BYTES = 12
_SEAL_INFO = b"docket-web session seal v1"
logger = logging.getLogger("docket.web.sessions")


class Session(msgspec.Struct, frozen=True):
    """One signed-in browser: who it is and the API tokens the web uses for it."""

    id: str
    email: str
    access_token: str
    refresh_token: str
    access_expires_at: float
    signed_in_at: float

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
    signed_in_at: float


def session_key(session_id: str) -> str:
    """The Redis key of the session a cookie value names."""
    return _key(SESSION_PREFIX, session_id)


def _key(prefix: str, session_id: str) -> str:
    return prefix + hashlib.sha256(session_id.encode()).hexdigest()


def _cipher(session_id: str) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_INFO)
    return AESGCM(hkdf.derive(session_id.encode()))


def seal(session_id: str, stored: _Stored) -> bytes:
    """The Redis value of a session: a random nonce and the AES-GCM ciphertext, bound to its key."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    aad = session_key(session_id).encode()
    return nonce + _cipher(session_id).encrypt(nonce, msgspec.json.encode(stored), aad)


def unseal(session_id: str, sealed: bytes) -> _Stored | None:
    """The session inside a Redis value, or None when it was not sealed for this cookie value."""
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        plain = _cipher(session_id).decrypt(nonce, ciphertext, session_key(session_id).encode())
        return msgspec.json.decode(plain, type=_Stored)
    except (InvalidTag, ValueError, msgspec.DecodeError):
        return None


class SessionStore:
    """Creates, reads, updates and ends sessions; one Redis key per session, expiring on its own."""

    def __init__(self, redis: Redis, ttl_seconds: int, max_age_seconds: int, secure: bool) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self.max_age = max_age_seconds
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
            signed_in_at=time.time(),
        )
        session = blank.with_tokens(pair)
        await self.save(session)
        return session

    def _expiry(self, signed_in_at: float) -> int:
        """Seconds the session may stay idle from now: the idle lifetime, within the absolute one."""
        return min(self.ttl, math.ceil(signed_in_at + self.max_age - time.time()))

    async def load(self, session_id: str | None) -> Session | None:
        """The live session this cookie value names; each use renews its idle lifetime."""
        if not session_id or len(session_id) > 100:
            return None
        key = session_key(session_id)
        raw = await self.redis.getex(key, ex=self.ttl)
        if not isinstance(raw, bytes):  # none (expired, ended, or never was)
            return None
        stored = unseal(session_id, raw)
        if stored is None:
            return None
        expiry = self._expiry(stored.signed_in_at)
        if expiry <= 0:
            logger.info("a session reached SESSION_MAX_AGE_SECONDS and ends")
            REFUSALS.labels("session-expired").inc()
            await self.redis.delete(key)
            return None
        if expiry < self.ttl:
            await self.redis.expire(key, expiry)
        return Session(id=session_id, **msgspec.structs.asdict(stored))

    async def save(self, session: Session) -> None:
        stored = _Stored(
            session.email,
            session.access_token,
            session.refresh_token,
            session.access_expires_at,
            session.signed_in_at,
        )
        expiry = self._expiry(session.signed_in_at)
        if expiry <= 0:
            await self.delete(session.id)
            return
        await self.redis.set(session_key(session.id), seal(session.id, stored), ex=expiry)

    async def delete(self, session_id: str) -> None:
        await self.redis.delete(session_key(session_id))

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
        """The cookie that names ``session``: HttpOnly, SameSite=Lax, Secure outside local/test; the
        browser keeps it for the session's absolute lifetime (the idle one is enforced here)."""
        return Cookie(
            key=self.cookie_name,
            value=session.id,
            max_age=max(1, math.ceil(session.signed_in_at + self.max_age - time.time())),
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
