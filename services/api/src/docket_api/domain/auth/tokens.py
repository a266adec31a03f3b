"""Access tokens (HS256 JWTs with a key id) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
VERIFIED_CACHE_SIZE = 10_000
REQUIRED_CLAIMS = ["sub", "exp", "iat", "iss", "aud", "jti"]


class InvalidTokenError(Exception):
    """The token is malformed, expired, forged, or not meant for this service."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as an access token (a JWT of a signed-in session) or a personal
    access token describes them. A session holds every scope; a personal token holds its own scopes,
    and may be limited to one workspace."""

    user_id: str
    token_id: str
    expires_at: int
    scopes: frozenset[str] | None = None  # None: a signed-in session, every scope
    workspace_id: str | None = None  # a personal token's only workspace

    @property
    def is_session(self) -> bool:
        return self.scopes is None


def key_id(secret: str) -> str:
    """A short public name for a signing key, so verifiers pick the right one during rotation."""
    return hashlib.sha256(b"docket-kid:" + secret.encode()).hexdigest()[:16]


class TokenCodec:
    """Signs with the current key; verifies with the current or the previous one."""

    def __init__(self, secret: str, previous: str, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._signing_key = secret
        self._signing_kid = key_id(secret)
        self._keys = {self._signing_kid: secret}
        if previous:
            self._keys[key_id(previous)] = previous
        self._verified: OrderedDict[str, Principal] = OrderedDict()
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, now: int | None = None) -> str:
        """A signed access token for ``user_id``."""
        issued = int(time.time()) if now is None else now
        claims = {
            "sub": user_id,
            "iat": issued,
            "exp": issued + self.ttl_seconds,
            "iss": self.issuer,
            "aud": self.audience,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._signing_key, algorithm=ALGORITHM, headers={"kid": self._signing_kid})

    def verify(self, token: str) -> Principal:
        """Decode and check ``token``; raise :class:`InvalidTokenError` for anything but a valid one.

        A token already verified is answered from a bounded cache until it expires: the signature
        cannot change, and revocation is checked per request in Redis (``denylist``, asked by the gate).
        """
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at > time.time():
                return cached
            del self._verified[token]
        principal = self._verify_signature(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        self._verified[token] = principal
        return principal

    def _verify_signature(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidTokenError("unexpected algorithm")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise InvalidTokenError("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],  # pinned: rejects "none" and RS/HS confusion
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("invalid token") from exc
        return Principal(
            user_id=str(claims["sub"]), token_id=str(claims["jti"]), expires_at=int(claims["exp"])
        )


def new_refresh_token() -> str:
    """A fresh opaque refresh token (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> bytes:
    """What the database stores instead of the refresh token itself."""
    return hashlib.sha256(token.encode()).digest()
