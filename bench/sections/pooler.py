"""9. What transaction-pooling mode (DATABASE_POOLER=transaction) costs on the read path.

Two questions, each answered with alternated rounds:

* the statements alone: Docket's list and search queries on one connection with psycopg's automatic
  server-side prepare (``prepare_threshold=5``, its default) and without it (``None``, which a
  transaction pooler requires), 300 executions per round, median microseconds per execution;
* end to end: ``GET /api/v1/documents`` from an API started with ``DATABASE_POOLER=none`` (start-up
  options, prepared statements) and with ``transaction`` (a ``SET LOCAL`` per checkout, nothing
  prepared), both connected straight to PostgreSQL so only Docket's side differs.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from bench import words
from bench.context import Context
from bench.report import Section
from bench.sections.read import docket_targets, http_load, measured, summarise
from bench.stats import alternate, median, ratio

EXECUTIONS = 300


def _statement_timings(ctx: Context) -> dict[str, dict[str, float]]:
    """Median µs per execution of each read statement, with and without server-side prepare."""
    import psycopg
    from psycopg.rows import dict_row

    from docket_core.tables import documents

    with psycopg.connect(ctx.stack.database_url) as conn:
        row = conn.execute(
            "SELECT id FROM workspaces WHERE personal_of = %s", (str(ctx.readers[0].id),)
        ).fetchone()
    assert row is not None, "the seeded reader has a personal workspace"
    workspaces = [row[0]]  # the reader's documents are seeded into it
    queries = words.two_word_queries(random.Random(11), 16)
    statements = {
        "list": lambda conn, n: documents.page(
            conn, workspaces, limit=51, after=None, status=None, title_prefix=None
        ),
        "search": lambda conn, n: documents.search(conn, workspaces, queries[n % len(queries)], 10, 0),
    }

    async def timed(statement: str, threshold: int | None) -> float:
        conn = await psycopg.AsyncConnection.connect(
            ctx.stack.database_url, prepare_threshold=threshold, row_factory=dict_row, autocommit=True
        )
        async with conn:
            for n in range(10):  # warm up; with a threshold of 5 the statement is prepared from here on
                await statements[statement](conn, n)
            started = time.perf_counter()
            for n in range(EXECUTIONS):
                await statements[statement](conn, n)
            return (time.perf_counter() - started) / EXECUTIONS * 1e6

    results: dict[str, dict[str, float]] = {}
    for statement in statements:
        contenders = {
            "prepared": lambda s=statement: asyncio.run(timed(s, 5)),
            "unprepared": lambda s=statement: asyncio.run(timed(s, None)),
        }
        runs = alternate(contenders, ctx.options.rounds)
        results[statement] = {name: median(values) for name, values in runs.items()}
    return results


def run(ctx: Context) -> Section:
    section = Section("pooler")
    opts, stack = ctx.options, ctx.stack
    statements = _statement_timings(ctx)
    for statement, timing in statements.items():
        cost = ratio(timing["unprepared"], timing["prepared"])
        section.add(f"{statement} statement, prepared", timing["prepared"], "µs", note="prepare_threshold=5")
        section.add(
            f"{statement} statement, unprepared",
            timing["unprepared"],
            "µs",
            note=f"prepare_threshold=None; {cost:.2f}x" if cost else "prepare_threshold=None",
        )
    direct = stack.start_api(workers=opts.workers, name="api-pooler-none")
    transaction = stack.start_api(
        workers=opts.workers, name="api-pooler-transaction", extra={"DATABASE_POOLER": "transaction"}
    )
    try:
        conns, seconds = opts.connections, opts.duration
        databases = {"postgres": stack.postmaster_pid, "redis": stack.redis_pid}
        contenders: dict[str, Any] = {
            name: measured(
                ctx,
                lambda api=api: http_load(ctx, api, docket_targets(ctx), conns, seconds),
                {"server": api.pid, **databases},
            )
            for name, api in (("none", direct), ("transaction", transaction))
        }
        for api in (direct, transaction):
            http_load(ctx, api, docket_targets(ctx), conns, opts.warmup)
        results = {name: summarise(runs) for name, runs in alternate(contenders, opts.rounds).items()}
    finally:
        stack.stop(transaction)
        stack.stop(direct)
    section.data = {"statements_us": statements, "executions": EXECUTIONS, **results}
    none, pooled = results["none"], results["transaction"]
    for name, figures in (("none", none), ("transaction", pooled)):
        section.add(f"list req/s, DATABASE_POOLER={name}", figures["rps"], "req/s", note=f"{conns} conns")
        section.add(f"list p50, DATABASE_POOLER={name}", figures["p50_ms"], "ms")
        section.add(f"list server CPU per request, {name}", figures["server_cpu_ms_per_request"], "ms")
    section.add("list req/s transaction/none", ratio(pooled["rps"], none["rps"]), "x")
    section.check("errors", none["errors"] + pooled["errors"], "", 0, at_most=True)
    return section
