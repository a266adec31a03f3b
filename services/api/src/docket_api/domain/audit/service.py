"""Reading the audit log: admins only, newest first, by keyset."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from docket_api.domain.audit.caller import Caller
from docket_api.domain.workspaces.authz import Action, authorize
from docket_core.tables import audit


class AuditEntry(msgspec.Struct):
    id: int
    workspace_id: str | None
    actor_id: str | None
    action: str
    target_type: str | None
    target_id: str | None
    client_ip: str | None
    details: dict[str, Any]
    created_at: dt.datetime


class AuditPage(msgspec.Struct):
    items: list[AuditEntry]
    next_cursor: str | None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


async def read_audit(
    pool: AsyncConnectionPool[AsyncConnection[Any]],
    caller: Caller,
    workspace_id: uuid.UUID,
    limit: int,
    before_id: int | None,
) -> AuditPage:
    async with pool.connection() as conn:
        await authorize(conn, caller.principal, workspace_id, Action.READ_AUDIT)
        rows = await audit.page(conn, workspace_id, limit=limit + 1, before_id=before_id)
    items = [
        AuditEntry(
            id=r["id"],
            workspace_id=_text(r["workspace_id"]),
            actor_id=_text(r["actor_id"]),
            action=r["action"],
            target_type=r["target_type"],
            target_id=r["target_id"],
            client_ip=r["client_ip"],
            details=r["details"],
            created_at=r["created_at"],
        )
        for r in rows[:limit]
    ]
    return AuditPage(items, str(items[-1].id) if len(rows) > limit else None)
