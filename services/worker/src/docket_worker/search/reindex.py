"""SEARCH_TEXT_CONFIG: applied when the worker starts, and the ``reindex_search`` job that follows.

When it starts, the worker compares the setting with ``search_settings`` (core/tables/search_settings.py),
in the background so that a database that is not up yet delays nothing else (it tries again every
few seconds). A different configuration is recorded there and one ``reindex_search`` job is queued,
in the same transaction; a re-index left unfinished (its job dead, say) gets a new job. A name the
database does not know is logged as an error, and the index keeps its configuration. The job rebuilds the
vectors in batches of REINDEX_BATCH documents, each batch its own short transaction that also moves
the cursor, so a worker killed mid-way loses nothing: the next claim goes on from the cursor.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from docket_core.contracts import ReindexSearch
from docket_core.settings import SettingsError
from docket_core.tables import jobs as queue
from docket_core.tables import search_settings
from docket_worker.jobs.context import JobContext
from docket_worker.jobs.metrics import SEARCH_REINDEX_REMAINING

logger = logging.getLogger("docket.worker.search")
REINDEX_BATCH = 500
RETRY_SECONDS = 5.0


async def apply_setting(pool: AsyncConnectionPool[AsyncConnection[Any]], config: str) -> None:
    """Make SEARCH_TEXT_CONFIG the index's configuration, queueing the re-index it needs; refuses to
    start (SettingsError) when the database has no configuration of that name."""
    async with pool.connection() as conn, conn.transaction():
        try:
            changed = await search_settings.change_to(conn, config)
        except search_settings.UnknownTextConfigError:
            raise SettingsError(
                f"SEARCH_TEXT_CONFIG is {config!r}, which the database does not have "
                "(the catalog pg_ts_config lists those it has)"
            ) from None
        state = await search_settings.get(conn)
        payload = ReindexSearch(state["text_config"])
        if state["previous_config"] is None:
            return
        if changed or await queue.unfinished_status(conn, payload) is None:
            await queue.enqueue(conn, payload)
            logger.info(
                "search re-index queued",
                extra={
                    "from": state["previous_config"],
                    "to": state["text_config"],
                    "documents": state["reindex_total"],
                },
            )


async def apply_until_done(
    pool: AsyncConnectionPool[AsyncConnection[Any]], config: str, retry_seconds: float = RETRY_SECONDS
) -> None:
    """:func:`apply_setting`, tried again while the database cannot answer."""
    while True:
        try:
            await apply_setting(pool, config)
            return
        except SettingsError as exc:
            logger.error("%s; the search index keeps its configuration", exc)
            return
        except Exception:  # the database may be away for a while: the next round tries again
            logger.warning("could not apply SEARCH_TEXT_CONFIG yet; retrying", exc_info=True)
        await asyncio.sleep(retry_seconds)


async def reindex_search(ctx: JobContext, payload: ReindexSearch) -> None:
    """Rebuild the vectors batch by batch until none is left, then complete the job."""
    while True:
        async with ctx.pool.connection() as conn, conn.transaction():
            _, finished = await search_settings.reindex_batch(conn, payload.config, REINDEX_BATCH)
            state = await search_settings.get(conn)
            if finished:
                await ctx.complete_in(conn)
        remaining = max(state["reindex_total"] - state["reindex_done"], 0)
        SEARCH_REINDEX_REMAINING.set(0 if finished else remaining)
        if finished:
            logger.info(
                "search re-index finished",
                extra={"config": payload.config, "documents": state["reindex_done"]},
            )
            return
        logger.info(
            "search re-index progress",
            extra={"config": payload.config, "done": state["reindex_done"], "total": state["reindex_total"]},
        )
