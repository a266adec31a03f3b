"""3. Search: two-word full-text queries over the seeded corpus, 16 connections; then the same load on
one workspace of SEARCH_LARGE_DOCS documents (100,000 in the table), with the query's EXPLAIN."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
from psycopg.rows import dict_row

from bench import seed, words
from bench.context import Context
from bench.report import Section
from bench.sections.read import http_load, measured, summarise
from bench.stats import alternate
from bench.wrk import Target


def run(ctx: Context) -> Section:
    section = Section("search")
    opts, stack = ctx.options, ctx.stack
    queries = words.two_word_queries(random.Random(7), 64)
    targets = [
        Target(
            f"/api/v1/search?q={quote(query)}", {"Authorization": f"Bearer {ctx.tokens[n % len(ctx.tokens)]}"}
        )
        for n, query in enumerate(queries)
    ]
    api = stack.start_api(workers=opts.workers)
    try:
        hits = [
            len(
                httpx.get(api.url(t.path), headers=dict(t.headers), timeout=10)
                .raise_for_status()
                .json()["items"]
            )
            for t in targets[:16]
        ]
        if not any(hits):
            raise RuntimeError("the search queries find nothing; the comparison would be empty")
        groups = {"server": api.pid, "postgres": stack.postmaster_pid}
        conns = opts.search_connections
        http_load(ctx, api, targets, conns, opts.warmup)
        runs = alternate(
            {"search": measured(ctx, lambda: http_load(ctx, api, targets, conns, opts.duration), groups)},
            opts.rounds,
        )["search"]
        if opts.profile:
            _profile(ctx, api, targets, conns, opts.duration)
    finally:
        stack.stop(api)
    figures = summarise(runs)
    section.data = {"connections": conns, "queries": queries, "hits_first_16": hits, **figures}
    section.add("search req/s", figures["rps"], "req/s", note=f"{conns} conns, median of {opts.rounds}")
    section.add("search p50", figures["p50_ms"], "ms")
    section.check("search p99", figures["p99_ms"], "ms", 50, at_most=True)  # issue #16: 10k documents
    section.check("search errors", figures["errors"], "", 0, at_most=True)
    section.add("search server CPU per request", figures["server_cpu_ms_per_request"], "ms")
    cpu = figures["cpu_cores"]
    section.add("search CPU split", " ".join(f"{k}={v:.2f}" for k, v in cpu.items()), "cores")
    if opts.search_large_docs:
        _large_workspace(ctx, section, queries)
    return section


SEED_CHUNK = 10_000


def _profile(ctx: Context, api: Any, targets: list[Target], conns: int, seconds: float) -> None:
    """A py-spy flame graph of the API serving the search load (bench/profiles/search-<day>.svg)."""
    import datetime as dt
    import subprocess

    from bench.stack import ROOT
    from bench.tools import py_spy

    out = ROOT / "bench" / "profiles" / f"search-{dt.date.today().isoformat()}.svg"
    out.parent.mkdir(exist_ok=True)
    recorder = subprocess.Popen(
        [str(py_spy()), "record", "--pid", str(api.pid), "--subprocesses", "--rate", "200",
         "--duration", str(int(seconds)), "--format", "flamegraph", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    http_load(ctx, api, targets, conns, seconds)
    recorder.wait(timeout=seconds + 60)


def _large_workspace(ctx: Context, section: Section, queries: list[str]) -> None:
    """The same queries, all from one user whose personal workspace holds ``search_large_docs``."""
    opts, stack = ctx.options, ctx.stack
    rng = random.Random(11)
    with psycopg.connect(stack.database_url) as conn:
        (owner,) = seed.create_users(conn, 1, "archivist")
        left = opts.search_large_docs
        while left:
            texts = [words.text(rng, opts.text_bytes) for _ in range(min(left, SEED_CHUNK))]
            seed.insert_documents(conn, owner.id, texts, ready=True)
            conn.commit()
            left -= len(texts)
        workspace = conn.execute("SELECT docket_personal_workspace(%s)", (owner.id,)).fetchone()
        total = conn.execute("SELECT count(*) FROM documents").fetchone()
    assert workspace is not None
    assert total is not None
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE documents")
    print(
        f"bench: search: one workspace of {opts.search_large_docs} documents, {total[0]} in all", flush=True
    )
    api = stack.start_api(workers=opts.workers)
    try:
        token = seed.login(api.url(), owner.email)
        targets = [
            Target(f"/api/v1/search?q={quote(q)}", {"Authorization": f"Bearer {token}"}) for q in queries
        ]
        groups = {"server": api.pid, "postgres": stack.postmaster_pid}
        conns = opts.search_connections
        http_load(ctx, api, targets, conns, opts.warmup)
        runs = alternate(
            {"large": measured(ctx, lambda: http_load(ctx, api, targets, conns, opts.duration), groups)},
            opts.rounds,
        )["large"]
    finally:
        stack.stop(api)
    figures = summarise(runs)
    plan = asyncio.run(_explain(stack.database_url, workspace[0], queries[0]))
    print(f"bench: search: EXPLAIN (ANALYZE, BUFFERS) for q={queries[0]!r}:\n{plan}", flush=True)
    section.data["large"] = {"documents": opts.search_large_docs, "table": total[0], "plan": plan, **figures}
    label = f"search {total[0] // 1000}k"
    section.add(f"{label} req/s", figures["rps"], "req/s", note=f"one workspace of {opts.search_large_docs}")
    section.add(f"{label} p50", figures["p50_ms"], "ms")
    section.check(f"{label} p99", figures["p99_ms"], "ms", 100, at_most=True)
    section.check(f"{label} errors", figures["errors"], "", 0, at_most=True)
    section.add(f"{label} server CPU per request", figures["server_cpu_ms_per_request"], "ms")


async def _explain(url: str, workspace_id: uuid.UUID, query: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the exact statement the route sends (search_json's)."""
    from docket_core.tables.documents import read_search_configs, search_statement

    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        configs = await read_search_configs(conn)
        sql, params = search_statement(configs, [workspace_id], query, 10, 0, as_json=True)
        cur = await conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)  # type: ignore[arg-type]
        rows = await cur.fetchall()
    return "\n".join(str(row["QUERY PLAN"]) for row in rows)
