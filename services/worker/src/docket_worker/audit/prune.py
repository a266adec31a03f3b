"""Delete audit entries older than AUDIT_RETENTION_DAYS, in batches, once an hour.

Every worker replica runs the loop; a transaction-scoped advisory lock lets one of them prune at a
time, and the others skip that round. Deleting in batches keeps each transaction short.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from docket_core.tables import audit

logger = logging.getLogger("docket.worker.audit")
PRUNE_INTERVAL_SECONDS = 3600.0
BATCH = 10_000
_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('docket.audit-prune')) AS got"


async def prune_once(pool: AsyncConnectionPool[AsyncConnection[Any]], retention_days: int) -> int:
    """One round: every entry past the retention goes (unless another replica holds the round)."""
    pruned = 0
    while True:
        async with pool.connection() as conn, conn.transaction():
            cur = await conn.execute(_LOCK)
            row = await cur.fetchone()
            if not row or not (row["got"] if isinstance(row, dict) else row[0]):
                return pruned
            deleted = await audit.prune(conn, retention_days, BATCH)
        pruned += deleted
        if deleted < BATCH:
            return pruned


async def prune_forever(
    pool: AsyncConnectionPool[AsyncConnection[Any]],
    retention_days: int,
    interval: float = PRUNE_INTERVAL_SECONDS,
) -> None:
    """Prune now and then every ``interval`` seconds until cancelled; 0 days keeps everything."""
    if retention_days <= 0:
        return
    while True:
        try:
            pruned = await prune_once(pool, retention_days)
            if pruned:
                logger.info("audit log pruned", extra={"entries": pruned, "retention_days": retention_days})
        except Exception:  # the database may be away for a while; the next round tries again
            logger.warning("audit prune failed; retrying next round", exc_info=True)
        await asyncio.sleep(interval)
