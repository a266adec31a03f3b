"""Personal access tokens: ``dkt_`` secrets stored as SHA-256, scoped, expiring, revocable.

The gate resolves a ``dkt_`` bearer token here on every request; the owner's role in a workspace is
still read per request by :mod:`authz`, so a token never reaches further than its owner does now.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from docket_api.domain.audit.caller import Caller
from docket_api.domain.auth.tokens import Principal
from docket_api.domain.tokens import repository as repo
from docket_api.domain.tokens.schemas import TokenCreated, TokenIn, TokenOut
from docket_api.domain.workspaces.authz import Action, authorize, require_session
from docket_api.domain.workspaces.limits import MAX_TOKENS
from docket_core.http.problems import Problem

PREFIX = "dkt_"  # so secret scanners recognise a leaked token
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # last_used_at is written at most this often per token


def is_personal_token(bearer: str) -> bool:
    return bearer.startswith(PREFIX)


def hash_token(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def token_out(row: dict[str, Any]) -> TokenOut:
    return TokenOut(
        id=str(row["id"]),
        name=row["name"],
        scopes=list(row["scopes"]),
        workspace_id=str(row["workspace_id"]) if row["workspace_id"] else None,
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


class TokenService:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> None:
        self.pool = pool

    async def create(self, caller: Caller, data: TokenIn) -> TokenCreated:
        require_session(caller.principal)
        secret = PREFIX + secrets.token_urlsafe(32)
        workspace_id = uuid.UUID(data.workspace_id) if data.workspace_id else None
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=data.expires_in_days)
        scopes: list[str] = sorted(set(data.scopes))
        async with self.pool.connection() as conn, conn.transaction():
            if workspace_id is not None:
                await authorize(conn, caller.principal, workspace_id, Action.VIEW_WORKSPACE)
            if await repo.live_count(conn, caller.user_id) >= MAX_TOKENS:
                raise Problem(
                    403,
                    f"You have {MAX_TOKENS} live tokens, the most one account may; revoke some.",
                    slug="quota-tokens",
                    limit=MAX_TOKENS,
                )
            row = await repo.insert(
                conn, user_id=caller.user_id, name=data.name, token_hash=hash_token(secret), scopes=scopes,
                workspace_id=workspace_id, expires_at=expires,
            )  # fmt: skip
            await caller.record(
                conn, "token.created", workspace_id, "token", row["id"], name=data.name, scopes=scopes
            )
        out = token_out(row)
        return TokenCreated(**{f: getattr(out, f) for f in out.__struct_fields__}, token=secret)

    async def list_for(self, caller: Caller) -> list[TokenOut]:
        require_session(caller.principal)
        async with self.pool.connection() as conn:
            rows = await repo.of_user(conn, caller.user_id, 200)
        return [token_out(r) for r in rows]

    async def revoke(self, caller: Caller, token_id: uuid.UUID) -> None:
        require_session(caller.principal)
        async with self.pool.connection() as conn, conn.transaction():
            row = await repo.revoke(conn, caller.user_id, token_id)
            if row is None:
                raise Problem(404, "No such token.", slug="token-not-found")
            await caller.record(conn, "token.revoked", row["workspace_id"], "token", token_id)

    async def resolve(self, secret: str) -> Principal | None:
        """The principal a live token stands for (None when unknown, revoked or expired); records its use."""
        async with self.pool.connection() as conn:
            row = await repo.live_by_hash(conn, hash_token(secret))
            if row is None:
                return None
            used: dt.datetime | None = row["last_used_at"]
            if used is None or dt.datetime.now(dt.UTC) - used > LAST_USED_RESOLUTION:
                await repo.mark_used(conn, row["id"])
        return Principal(
            user_id=str(row["user_id"]),
            token_id=f"pat:{row['id']}",
            expires_at=int(row["expires_at"].timestamp()),
            scopes=frozenset(row["scopes"]),
            workspace_id=str(row["workspace_id"]) if row["workspace_id"] else None,
        )
