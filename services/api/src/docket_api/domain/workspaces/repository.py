"""SQL for workspaces, memberships and invitations (tables only the API uses)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from psycopg import AsyncConnection

Row = dict[str, Any]
_WORKSPACE = "w.id, w.name, w.personal_of IS NOT NULL AS personal, m.role, w.created_at"
_INVITATION = "id, workspace_id, role, created_at, expires_at"


async def personal_workspace(conn: AsyncConnection[Any], user_id: str) -> uuid.UUID:
    """The user's personal workspace, created (with its owner membership) if it is missing."""
    cur = await conn.execute("SELECT docket_personal_workspace(%s) AS id", (user_id,))
    row = await cur.fetchone()
    assert row is not None
    return row["id"]  # type: ignore[call-overload,no-any-return]


async def create(conn: AsyncConnection[Any], name: str, owner_id: str) -> Row:
    cur = await conn.execute("INSERT INTO workspaces (name) VALUES (%s) RETURNING id", (name,))
    row = await cur.fetchone()
    assert row is not None
    await add_member(conn, row["id"], owner_id, "owner")  # type: ignore[call-overload]
    found = await get_for(conn, owner_id, row["id"])  # type: ignore[call-overload]
    assert found is not None
    return found


async def owned_count(conn: AsyncConnection[Any], user_id: str) -> int:
    """Shared workspaces the user owns (personal ones not counted)."""
    cur = await conn.execute(
        "SELECT count(*) AS n FROM memberships m JOIN workspaces w ON w.id = m.workspace_id "
        "WHERE m.user_id = %s AND m.role = 'owner' AND w.personal_of IS NULL",
        (user_id,),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0  # type: ignore[call-overload]


async def list_for(conn: AsyncConnection[Any], user_id: str) -> list[Row]:
    cur = await conn.execute(
        f"SELECT {_WORKSPACE} FROM workspaces w JOIN memberships m ON m.workspace_id = w.id "
        "WHERE m.user_id = %s ORDER BY w.personal_of IS NULL, lower(w.name), w.id",
        (user_id,),
    )
    return await cur.fetchall()  # type: ignore[return-value]


async def get_for(conn: AsyncConnection[Any], user_id: str, workspace_id: uuid.UUID) -> Row | None:
    cur = await conn.execute(
        f"SELECT {_WORKSPACE} FROM workspaces w JOIN memberships m ON m.workspace_id = w.id "
        "WHERE m.user_id = %s AND w.id = %s",
        (user_id, workspace_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def is_personal(conn: AsyncConnection[Any], workspace_id: uuid.UUID) -> bool:
    cur = await conn.execute(
        "SELECT personal_of IS NOT NULL AS p FROM workspaces WHERE id = %s", (workspace_id,)
    )
    row = await cur.fetchone()
    return bool(row and row["p"])  # type: ignore[call-overload]


async def rename(conn: AsyncConnection[Any], workspace_id: uuid.UUID, name: str) -> None:
    await conn.execute("UPDATE workspaces SET name = %s WHERE id = %s", (name, workspace_id))


async def delete(conn: AsyncConnection[Any], workspace_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM workspaces WHERE id = %s", (workspace_id,))


async def lock_members(conn: AsyncConnection[Any], workspace_id: uuid.UUID) -> None:
    """Serialise changes to one workspace's members (role changes, removals, transfers, joins)."""
    await conn.execute("SELECT 1 FROM workspaces WHERE id = %s FOR UPDATE", (workspace_id,))


async def members(conn: AsyncConnection[Any], workspace_id: uuid.UUID) -> list[Row]:
    cur = await conn.execute(
        "SELECT m.user_id, u.email, m.role, m.created_at AS joined_at FROM memberships m "
        "JOIN users u ON u.id = m.user_id WHERE m.workspace_id = %s ORDER BY m.created_at, m.user_id",
        (workspace_id,),
    )
    return await cur.fetchall()  # type: ignore[return-value]


async def member_count(conn: AsyncConnection[Any], workspace_id: uuid.UUID) -> int:
    cur = await conn.execute("SELECT count(*) AS n FROM memberships WHERE workspace_id = %s", (workspace_id,))
    row = await cur.fetchone()
    return int(row["n"]) if row else 0  # type: ignore[call-overload]


async def add_member(conn: AsyncConnection[Any], workspace_id: uuid.UUID, user_id: str, role: str) -> bool:
    """Add the member; False when they already are one."""
    cur = await conn.execute(
        "INSERT INTO memberships (workspace_id, user_id, role) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (workspace_id, user_id, role),
    )
    return cur.rowcount == 1


async def set_role(conn: AsyncConnection[Any], workspace_id: uuid.UUID, user_id: str, role: str) -> None:
    await conn.execute(
        "UPDATE memberships SET role = %s WHERE workspace_id = %s AND user_id = %s",
        (role, workspace_id, user_id),
    )


async def remove_member(conn: AsyncConnection[Any], workspace_id: uuid.UUID, user_id: str) -> None:
    await conn.execute(
        "DELETE FROM memberships WHERE workspace_id = %s AND user_id = %s", (workspace_id, user_id)
    )


async def create_invitation(
    conn: AsyncConnection[Any],
    workspace_id: uuid.UUID,
    token_hash: bytes,
    role: str,
    created_by: str,
    expires_at: dt.datetime,
) -> Row:
    cur = await conn.execute(
        "INSERT INTO invitations (workspace_id, token_hash, role, created_by, expires_at) "
        f"VALUES (%s, %s, %s, %s, %s) RETURNING {_INVITATION}",
        (workspace_id, token_hash, role, created_by, expires_at),
    )
    row = await cur.fetchone()
    assert row is not None
    return row  # type: ignore[no-any-return]


_PENDING = "accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()"


async def pending_invitations(conn: AsyncConnection[Any], workspace_id: uuid.UUID) -> list[Row]:
    cur = await conn.execute(
        f"SELECT {_INVITATION} FROM invitations WHERE workspace_id = %s AND {_PENDING} "
        "ORDER BY created_at DESC, id",
        (workspace_id,),
    )
    return await cur.fetchall()  # type: ignore[return-value]


async def pending_invitation_count(conn: AsyncConnection[Any], workspace_id: uuid.UUID) -> int:
    cur = await conn.execute(
        f"SELECT count(*) AS n FROM invitations WHERE workspace_id = %s AND {_PENDING}", (workspace_id,)
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0  # type: ignore[call-overload]


async def revoke_invitation(
    conn: AsyncConnection[Any], workspace_id: uuid.UUID, invitation_id: uuid.UUID
) -> Row | None:
    cur = await conn.execute(
        f"UPDATE invitations SET revoked_at = now() WHERE id = %s AND workspace_id = %s AND {_PENDING} "
        f"RETURNING {_INVITATION}",
        (invitation_id, workspace_id),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def pending_invitation_workspace(conn: AsyncConnection[Any], token_hash: bytes) -> uuid.UUID | None:
    cur = await conn.execute(
        f"SELECT workspace_id FROM invitations WHERE token_hash = %s AND {_PENDING}", (token_hash,)
    )
    row = await cur.fetchone()
    return row["workspace_id"] if row else None  # type: ignore[call-overload,no-any-return]


async def lock_pending_invitation(conn: AsyncConnection[Any], token_hash: bytes) -> Row | None:
    """The pending invitation the secret names, locked: two accepts cannot both use it."""
    cur = await conn.execute(
        f"SELECT {_INVITATION} FROM invitations WHERE token_hash = %s AND {_PENDING} FOR UPDATE",
        (token_hash,),
    )
    return await cur.fetchone()  # type: ignore[no-any-return]


async def mark_accepted(conn: AsyncConnection[Any], invitation_id: uuid.UUID, user_id: str) -> None:
    await conn.execute(
        "UPDATE invitations SET accepted_at = now(), accepted_by = %s WHERE id = %s", (user_id, invitation_id)
    )
