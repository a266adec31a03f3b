"""3. Search: two-word full-text queries over the seeded corpus, 16 connections."""

from __future__ import annotations

import random
from urllib.parse import quote

import httpx

from bench import words
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
    finally:
        stack.stop(api)
    figures = summarise(runs)
    section.data = {"connections": conns, "queries": queries, "hits_first_16": hits, **figures}
    section.add("search req/s", figures["rps"], "req/s", note=f"{conns} conns, median of {opts.rounds}")
    section.add("search p50", figures["p50_ms"], "ms")
    section.check("search p99", figures["p99_ms"], "ms", 100, at_most=True)
    section.check("search errors", figures["errors"], "", 0, at_most=True)
    section.add("search server CPU per request", figures["server_cpu_ms_per_request"], "ms")
    cpu = figures["cpu_cores"]
    section.add("search CPU split", " ".join(f"{k}={v:.2f}" for k, v in cpu.items()), "cores")
    return section
