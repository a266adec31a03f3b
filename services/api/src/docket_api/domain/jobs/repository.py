"""Enqueue work for the worker, in the caller's transaction, and wake it with NOTIFY."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from docket_core.contracts import JOBS_NOTIFY_CHANNEL, JobPayload


async def enqueue(conn: AsyncConnection[Any], payload: JobPayload) -> int:
    """Add a job; the NOTIFY is delivered when the transaction commits, never before."""
    cur = await conn.execute(
        "INSERT INTO jobs (kind, payload) VALUES (%s, %s) RETURNING id",
        (payload.KIND, Jsonb(payload.to_builtins())),
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute("SELECT pg_notify(%s, %s)", (JOBS_NOTIFY_CHANNEL, payload.KIND))
    return int(row["id"])  # type: ignore[call-overload]
