"""10. ``GET /api/v1/documents/{id}``: a full read (200) vs a revalidation (``If-None-Match`` naming the
current ``ETag``: 304, answered from the row's small columns without reading its text), alternated.

Each signed-in reader gets one extra ready document of ``--detail-text-kb`` of text (TOASTed, as a
real document's text is), dated long before the corpus so no list shows it; they are deleted at the end.
"""

from __future__ import annotations

import datetime as dt
import random

import httpx
import psycopg

from bench import seed, words
from bench.context import Context
from bench.report import Section
from bench.sections.read import http_load, measured, summarise
from bench.stats import alternate, ratio
from bench.wrk import Target

LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def run(ctx: Context) -> Section:
    section = Section("detail")
    opts, stack = ctx.options, ctx.stack
    rng = random.Random(16)
    with psycopg.connect(stack.database_url) as conn:
        documents = [
            seed.insert_documents(
                conn, user.id, [words.text(rng, opts.detail_text_kb * 1024)], ready=True, newest=LONG_AGO
            )[0]
            for user in ctx.readers
        ]
        conn.commit()
    docket = stack.start_api(workers=opts.workers)
    try:
        auth = [{"Authorization": f"Bearer {token}"} for token in ctx.tokens]
        full = [
            Target(f"/api/v1/documents/{doc}", headers) for doc, headers in zip(documents, auth, strict=True)
        ]
        tags = [httpx.get(docket.url(t.path), headers=t.headers, timeout=10) for t in full]
        for answer in tags:
            answer.raise_for_status()
        revalidate = [
            Target(t.path, {**t.headers, "If-None-Match": answer.headers.get("etag", '"none"')})
            for t, answer in zip(full, tags, strict=True)
        ]
        first = httpx.get(docket.url(revalidate[0].path), headers=revalidate[0].headers, timeout=10)
        groups = {"server": docket.pid, "postgres": stack.postmaster_pid, "redis": stack.redis_pid}
        conns, seconds = opts.search_connections, opts.duration
        contenders = {
            "200": measured(ctx, lambda: http_load(ctx, docket, full, conns, seconds), groups),
            "304": measured(ctx, lambda: http_load(ctx, docket, revalidate, conns, seconds), groups),
        }
        http_load(ctx, docket, full, conns, opts.warmup)
        results = {name: summarise(runs) for name, runs in alternate(contenders, opts.rounds).items()}
    finally:
        stack.stop(docket)
        with psycopg.connect(stack.database_url) as conn:
            conn.execute("DELETE FROM documents WHERE id = ANY(%s)", (documents,))
    section.data = {
        "connections": conns,
        "text_kb": opts.detail_text_kb,
        "304_status": first.status_code,
        **results,
    }
    # 1 when a current ETag is answered 304 (0 on a build without conditional GETs, such as before #16)
    section.check("revalidation answers 304", float(first.status_code == 304), "", 1, at_most=False)
    for name, result in results.items():
        pg = result["cpu_cores"]["postgres"] / max(result["rps"], 1e-9) * 1000
        section.add(
            f"{name} req/s", result["rps"], "req/s", note=f"{conns} conns, {opts.detail_text_kb} KB text"
        )
        section.add(f"{name} p99", result["p99_ms"], "ms")
        section.check(f"{name} errors", result["errors"], "", 0, at_most=True)
        section.add(f"{name} server CPU per request", result["server_cpu_ms_per_request"], "ms")
        section.add(f"{name} PostgreSQL CPU per request", pg, "ms")
    section.add(
        "304 / 200 by server CPU per request",
        ratio(results["304"]["server_cpu_ms_per_request"], results["200"]["server_cpu_ms_per_request"]),
        "x",
    )
    return section
