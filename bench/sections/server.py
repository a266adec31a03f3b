"""The server choice, measured: uvicorn (what Docket runs) vs granian, same app factory, alternated."""

from __future__ import annotations

from bench.context import Context
from bench.report import Section
from bench.sections.read import docket_targets, http_load, measured, summarise
from bench.stats import alternate, ratio
from bench.tools import GRANIAN_VERSION, granian_path


def run(ctx: Context) -> Section:
    section = Section("server")
    opts, stack = ctx.options, ctx.stack
    granian_path()  # install before anything is timed
    uvicorn = stack.start_api(workers=opts.workers, server="uvicorn", name="api-uvicorn")
    granian = stack.start_api(workers=opts.workers, server="granian", name="api-granian")
    targets = docket_targets(ctx)
    databases = {"postgres": stack.postmaster_pid, "redis": stack.redis_pid}
    conns, seconds = opts.connections, opts.duration
    try:
        contenders = {
            "uvicorn": measured(
                ctx,
                lambda: http_load(ctx, uvicorn, targets, conns, seconds),
                {"server": uvicorn.pid, **databases},
            ),
            "granian": measured(
                ctx,
                lambda: http_load(ctx, granian, targets, conns, seconds),
                {"server": granian.pid, **databases},
            ),
        }
        for proc in (uvicorn, granian):
            http_load(ctx, proc, targets, conns, opts.warmup)
        results = {name: summarise(runs) for name, runs in alternate(contenders, opts.rounds).items()}
    finally:
        stack.stop(granian)
        stack.stop(uvicorn)
    uv, gr = results["uvicorn"], results["granian"]
    section.data = {"granian_version": GRANIAN_VERSION, "workers": opts.workers, **results}
    for name, figures in results.items():
        section.add(f"{name} req/s", figures["rps"], "req/s", note=f"{conns} conns, median of {opts.rounds}")
        section.add(f"{name} p50", figures["p50_ms"], "ms")
        section.add(f"{name} p99", figures["p99_ms"], "ms")
        section.add(f"{name} errors", figures["errors"])
        section.add(f"{name} server CPU per request", figures["server_cpu_ms_per_request"], "ms")
        section.add(f"{name} peak RSS", figures["peak_rss_mb"]["server"], "MB")
    section.add("granian / uvicorn req/s", ratio(gr["rps"], uv["rps"]), "x")
    section.add(
        "granian / uvicorn by CPU per request",
        ratio(uv["server_cpu_ms_per_request"], gr["server_cpu_ms_per_request"]),
        "x",
    )
    return section
