"""The tags of a workspace with their counts, for its members."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from docket_api.domain.audit.caller import Caller
from docket_api.domain.tags.repository import counts
from docket_api.domain.workspaces.authz import Action, authorize


class TagCount(msgspec.Struct):
    name: str
    count: int


async def tag_counts(
    pool: AsyncConnectionPool[AsyncConnection[Any]], caller: Caller, workspace_id: uuid.UUID
) -> list[TagCount]:
    async with pool.connection() as conn:
        await authorize(conn, caller.principal, workspace_id, Action.VIEW_WORKSPACE)
        found = await counts(conn, workspace_id)
    return [TagCount(name, count) for name, count in found]
