"""SQL for tags: per workspace, case-insensitive (the first spelling is kept), limited in count."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from docket_api.domain.workspaces.limits import MAX_TAGS_PER_WORKSPACE
from docket_core.http.problems import Problem

# the names compared as PostgreSQL lowers them (the unique index's expression), not as Python does
_LOWERED = "ANY(SELECT lower(x) FROM unnest(%s::text[]) AS x)"


def distinct(names: Sequence[str]) -> list[str]:
    """The names without case-insensitive repeats, first spelling kept, in order."""
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.strip().lower(), name.strip())
    return list(seen.values())


async def tags_of(
    conn: AsyncConnection[Any], document_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """Each document's tag names, sorted."""
    if not document_ids:
        return {}
    cur = await conn.execute(
        "SELECT dt.document_id, t.name FROM document_tags dt JOIN tags t ON t.id = dt.tag_id "
        "WHERE dt.document_id = ANY(%s) ORDER BY lower(t.name)",
        (list(document_ids),),
    )
    found: dict[uuid.UUID, list[str]] = {}
    for row in await cur.fetchall():
        found.setdefault(row["document_id"], []).append(row["name"])  # type: ignore[call-overload]
    return found


async def set_tags(
    conn: AsyncConnection[Any], workspace_id: uuid.UUID, document_id: uuid.UUID, names: Sequence[str]
) -> None:
    """Replace the document's tags, in the caller's transaction; tags no document carries go."""
    names = distinct(names)
    # one workspace's tag edits take turns, so the limit below cannot be raced past
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('docket.tags'), hashtext(%s))", (str(workspace_id),)
    )
    await conn.execute("DELETE FROM document_tags WHERE document_id = %s", (document_id,))
    await conn.execute(
        "DELETE FROM tags t WHERE t.workspace_id = %s AND NOT EXISTS "
        "(SELECT 1 FROM document_tags dt WHERE dt.tag_id = t.id)",
        (workspace_id,),
    )
    if not names:
        return
    cur = await conn.execute(
        f"SELECT count(*) AS n FROM tags WHERE workspace_id = %s AND NOT lower(name) = {_LOWERED}",
        (workspace_id, names),
    )
    row = await cur.fetchone()
    others = int(row["n"]) if row else 0  # type: ignore[call-overload]
    if others + len(names) > MAX_TAGS_PER_WORKSPACE:
        raise Problem(
            403,
            f"This workspace has {MAX_TAGS_PER_WORKSPACE} tags, the most it may; reuse one or remove some.",
            slug="quota-tags",
            limit=MAX_TAGS_PER_WORKSPACE,
        )
    for name in names:
        await conn.execute(
            "INSERT INTO tags (workspace_id, name) VALUES (%s, %s) "
            "ON CONFLICT (workspace_id, lower(name)) DO NOTHING",
            (workspace_id, name),
        )
    await conn.execute(
        f"INSERT INTO document_tags (document_id, tag_id) SELECT %s, id FROM tags "
        f"WHERE workspace_id = %s AND lower(name) = {_LOWERED}",
        (document_id, workspace_id, names),
    )


async def counts(conn: AsyncConnection[Any], workspace_id: uuid.UUID) -> list[tuple[str, int]]:
    """Each tag of the workspace with how many documents carry it, most used first."""
    cur = await conn.execute(
        "SELECT t.name, count(dt.document_id) AS n FROM tags t "
        "JOIN document_tags dt ON dt.tag_id = t.id WHERE t.workspace_id = %s "
        "GROUP BY t.id, t.name ORDER BY n DESC, lower(t.name)",
        (workspace_id,),
    )
    return [(r["name"], int(r["n"])) for r in await cur.fetchall()]  # type: ignore[call-overload]
