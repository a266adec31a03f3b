"""SQL for the append-only ``audit_log``: the API appends and reads it, the worker prunes it."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

Row = dict[str, Any]
COLUMNS = "id, workspace_id, actor_id, action, target_type, target_id, client_ip, details, created_at"


async def record(
    conn: AsyncConnection[Any],
    *,
    action: str,
    actor_id: str | None,
    workspace_id: uuid.UUID | str | None,
    target_type: str | None = None,
    target_id: str | None = None,
    client_ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry (in the caller's transaction, so it is written exactly when the action is)."""
    await conn.execute(
        "INSERT INTO audit_log (workspace_id, actor_id, action, target_type, target_id, client_ip, details) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (workspace_id, actor_id, action, target_type, target_id, client_ip, Jsonb(details or {})),
    )


async def page(
    conn: AsyncConnection[Any], workspace_id: uuid.UUID, *, limit: int, before_id: int | None
) -> list[Row]:
    """Newest first; ``before_id`` is the id of the last entry of the previous page (keyset)."""
    cur = await conn.execute(
        f"SELECT {COLUMNS} FROM audit_log WHERE workspace_id = %s AND (%s::bigint IS NULL OR id < %s) "
        "ORDER BY id DESC LIMIT %s",
        (workspace_id, before_id, before_id, limit),
    )
    return await cur.fetchall()  # type: ignore[return-value]


async def prune(conn: AsyncConnection[Any], retention_days: int, batch: int = 10_000) -> int:
    """Delete up to ``batch`` entries older than the retention; returns how many went."""
    cur = await conn.execute(
        "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log "
        "WHERE created_at < now() - make_interval(days => %s) ORDER BY id LIMIT %s)",
        (retention_days, batch),
    )
    return cur.rowcount
