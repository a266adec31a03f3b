"""Registration, login, refresh-token rotation with reuse detection, and logout."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from docket_api.domain.auth import denylist
from docket_api.domain.auth import repository as repo
from docket_api.domain.auth.login_throttle import LoginThrottle
from docket_api.domain.auth.passwords import PasswordHashing
from docket_api.domain.auth.schemas import TokenPair, UserOut
from docket_api.domain.auth.tokens import Principal, TokenCodec, hash_refresh_token, new_refresh_token
from docket_api.settings import ApiSettings
from docket_core.http.problems import Problem
from docket_core.tables import audit

logger = logging.getLogger("docket.auth")


def unauthorized(detail: str) -> Problem:
    return Problem(401, detail, slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="docket"'})


class AuthService:
    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncConnection[Any]],
        redis: Redis,
        codec: TokenCodec,
        settings: ApiSettings,
        hashing: PasswordHashing,
    ) -> None:
        self.pool = pool
        self.redis = redis
        self.codec = codec
        self.settings = settings
        self.hashing = hashing
        self.throttle = LoginThrottle(
            redis, settings.login_max_failures, settings.login_ip_max_failures, settings.login_lockout_seconds
        )

    async def register(self, email: str, password: str) -> UserOut:
        password_hash = await self.hashing.hash(password)
        async with self.pool.connection() as conn:
            row = await repo.create_user(conn, email.strip(), password_hash)
        if row is None:
            raise Problem(409, "An account with this email already exists.", slug="email-taken")
        return _user_out(row)

    async def login(self, email: str, password: str, client_address: str) -> TokenPair:
        async with self.pool.connection() as conn:
            email_key, user = await repo.user_for_login(conn, email)
        user_id = str(user["id"]) if user else None
        attempt = await self.throttle.begin(client_address, user_id, email_key)  # 429 over budget
        # an unknown account is checked against a dummy hash: the same cost, so timing tells nothing
        verified = await self.hashing.verify(user["password_hash"] if user else None, password)
        if not verified or user_id is None:
            raise unauthorized("The email or password is wrong.")
        await self.throttle.succeeded(attempt)
        return await self._start_family(user_id, client_address)

    async def _start_family(self, user_id: str, client_address: str) -> TokenPair:
        refresh = new_refresh_token()
        async with self.pool.connection() as conn, conn.transaction():
            await repo.insert_refresh_token(
                conn, user_id, uuid.uuid4(), hash_refresh_token(refresh), self._refresh_expiry()
            )
            await audit.record(conn, action="auth.signed_in", actor_id=user_id, workspace_id=None,
                               target_type="user", target_id=user_id, client_ip=client_address)  # fmt: skip
        return self._pair(user_id, refresh)

    async def refresh(self, refresh_token: str) -> TokenPair:
        token_hash = hash_refresh_token(refresh_token)
        new_token = new_refresh_token()
        failure: str | None = None
        async with self.pool.connection() as conn, conn.transaction():
            row = await repo.lock_refresh_token(conn, token_hash)
            if row is None:
                failure = "The refresh token is not valid."
            elif row["revoked_at"] is not None or row["rotated_at"] is not None:
                # A rotated token came back: someone holds a copy. Revoke the whole login.
                revoked = await repo.revoke_family(conn, row["family_id"])
                logger.warning(
                    "refresh token reuse detected; family revoked",
                    extra={"user_id": str(row["user_id"]), "revoked": revoked},
                )
                failure = "The refresh token was already used; this login has been revoked."
            elif row["expires_at"] <= dt.datetime.now(dt.UTC):
                failure = "The refresh token has expired."
            else:
                await repo.mark_rotated(conn, row["id"])
                await repo.insert_refresh_token(
                    conn,
                    str(row["user_id"]),
                    row["family_id"],
                    hash_refresh_token(new_token),
                    self._refresh_expiry(),
                )
        if failure is not None or row is None:
            raise unauthorized(failure or "The refresh token is not valid.")
        return self._pair(str(row["user_id"]), new_token)

    async def logout(self, principal: Principal, refresh_token: str | None) -> None:
        async with self.pool.connection() as conn:
            if refresh_token:
                family = await repo.family_of(conn, hash_refresh_token(refresh_token), principal.user_id)
                if family is not None:
                    await repo.revoke_family(conn, family)
            else:
                await repo.revoke_user_tokens(conn, principal.user_id)
        await denylist.revoke(self.redis, principal)

    async def me(self, principal: Principal) -> UserOut:
        async with self.pool.connection() as conn:
            row = await repo.user_by_id(conn, principal.user_id)
        if row is None:
            raise unauthorized("The account no longer exists.")
        return _user_out(row)

    def _pair(self, user_id: str, refresh: str) -> TokenPair:
        return TokenPair(
            access_token=self.codec.issue(user_id),
            refresh_token=refresh,
            expires_in=self.codec.ttl_seconds,
        )

    def _refresh_expiry(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.settings.refresh_token_ttl_seconds)


def _user_out(row: dict[str, Any]) -> UserOut:
    return UserOut(id=str(row["id"]), email=row["email"], created_at=row["created_at"])
