"""SQL for users and refresh tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

Row = dict[str, Any]


async def create_user(conn: AsyncConnection[Any], email: str, password_hash: str) -> Row | None:
    """Insert a user, with their personal workspace; None when the email is taken."""
    try:
        async with conn.transaction():
            cur = await conn.execute(
                "INSERT INTO users (email, password_hash) VALUES (%s, %s) RETURNING id, email, created_at",
                (email, password_hash),
            )
            row = await cur.fetchone()
            assert row is not None
            await conn.execute("SELECT docket_personal_workspace(%s)", (row["id"],))
            return row  # type: ignore[no-any-return]
    except UniqueViolation:
        return None


async def user_for_login(conn: AsyncConnection[Any], email: str) -> tuple[str, Row | None]:
    """``email`` normalised, and the account it names (None when there is none).

    The normalisation is PostgreSQL's ``lower()``, the expression of the unique index on users:
    Python's ``str.lower`` disagrees with it outside ASCII (it follows the database's locale), so
    the login throttle keys unknown addresses on this value rather than on its own lower-casing.
    """
    cur = await conn.execute(
        "SELECT k.email_key, u.id, u.password_hash FROM (SELECT lower(%s::text) AS email_key) AS k "
        "LEFT JOIN users AS u ON lower(u.email) = k.email_key",
        (email,),
    )
    row = await cur.fetchone()
    assert row is not None  # the subquery always yields its one row
    return row["email_key"], (row if row["id"] is not None else None)


async def user_by_id(conn: AsyncConnection[Any], user_id: str) -> Row | None:
    cur = await conn.execute("SELECT id, email, created_at FROM users WHERE id = %s", (user_id,))
    return await cur.fetchone()


async def insert_refresh_token(
    conn: AsyncConnection[Any], user_id: str, family_id: uuid.UUID, token_hash: bytes, expires_at: dt.datetime
) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) VALUES (%s, %s, %s, %s)",
        (user_id, family_id, token_hash, expires_at),
    )


async def lock_refresh_token(conn: AsyncConnection[Any], token_hash: bytes) -> Row | None:
    """The token's row, locked for this transaction so two rotations cannot both succeed."""
    cur = await conn.execute(
        "SELECT id, user_id, family_id, expires_at, rotated_at, revoked_at "
        "FROM refresh_tokens WHERE token_hash = %s FOR UPDATE",
        (token_hash,),
    )
    return await cur.fetchone()


async def mark_rotated(conn: AsyncConnection[Any], token_id: uuid.UUID) -> None:
    await conn.execute("UPDATE refresh_tokens SET rotated_at = now() WHERE id = %s", (token_id,))


async def revoke_family(conn: AsyncConnection[Any], family_id: uuid.UUID) -> int:
    cur = await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = %s AND revoked_at IS NULL",
        (family_id,),
    )
    return cur.rowcount


async def revoke_user_tokens(conn: AsyncConnection[Any], user_id: str) -> int:
    cur = await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL", (user_id,)
    )
    return cur.rowcount


async def family_of(conn: AsyncConnection[Any], token_hash: bytes, user_id: str) -> uuid.UUID | None:
    cur = await conn.execute(
        "SELECT family_id FROM refresh_tokens WHERE token_hash = %s AND user_id = %s", (token_hash, user_id)
    )
    row = await cur.fetchone()
    return row["family_id"] if row else None
