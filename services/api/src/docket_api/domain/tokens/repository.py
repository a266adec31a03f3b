"""SQL for personal access tokens (a table only the API uses)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from psycopg import AsyncConnection

Row = dict[str, Any]
COLUMNS = "id, name, scopes, workspace_id, created_at, expires_at, last_used_at, revoked_at"


async def live_count(conn: AsyncConnection[Any], user_id: str) -> int:
    """The user's tokens that are neither revoked nor expired, counted under a per-user lock."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('docket.tokens'), hashtext(%s))", (user_id,))
    cur = await conn.execute(
        "SELECT count(*) AS n FROM api_tokens "
        "WHERE user_id = %s AND revoked_at IS NULL AND expires_at > now()",
        (user_id,),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0  # type: ignore[call-overload]


async def insert(
    conn: AsyncConnection[Any],
    *,
    user_id: str,
    name: str,
    token_hash: bytes,
    scopes: list[str],
    workspace_id: uuid.UUID | None,
    expires_at: dt.datetime,
) -> Row:
    cur = await conn.execute(
        "INSERT INTO api_tokens (user_id, name, token_hash, scopes, workspace_id, expires_at) "
        f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
        (user_id, name, token_hash, scopes, workspace_id, expires_at),
    )
    row = await cur.fetchone()
    assert row is not None
    return row  # type: ignore[no-any-return]


async def of_user(conn: AsyncConnection[Any], user_id: str, limit: int) -> list[Row]:
    cur = await conn.execute(
        f"SELECT {COLUMNS} FROM api_tokens WHERE user_id = %s ORDER BY created_at DESC, id LIMIT %s",
        (user_id, limit),
    )
    return await cur.fetchall()  # type: ignore[return-value]


async def revoke(conn: AsyncConnection[Any], user_id: str, token_id: uuid.UUID) -> Row | None:
    """Revoke the user's token (again is a no-op); None when they have no such token."""
    cur = await conn.execute(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s AND user_id = %s "
        "RETURNING id, workspace_id",
        (token_id, user_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def live_by_hash(conn: AsyncConnection[Any], token_hash: bytes) -> Row | None:
    cur = await conn.execute(
        "SELECT id, user_id, scopes, workspace_id, expires_at, last_used_at FROM api_tokens "
        "WHERE token_hash = %s AND revoked_at IS NULL AND expires_at > now()",
        (token_hash,),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def mark_used(conn: AsyncConnection[Any], token_id: uuid.UUID) -> None:
    await conn.execute("UPDATE api_tokens SET last_used_at = now() WHERE id = %s", (token_id,))
