"""8. Memory: idle RSS of each service, and the API's RSS under the read-path load."""

from __future__ import annotations

import time

from bench import procs
from bench.context import Context
from bench.report import Section
from bench.sections.read import docket_targets, http_load

SETTLE_SECONDS = 3.0


def run(ctx: Context) -> Section:
    section = Section("memory")
    opts, stack = ctx.options, ctx.stack
    api = stack.start_api(workers=opts.workers, name="api-memory")
    worker = stack.start_worker("worker-memory")
    web = stack.start_web(api)
    try:
        time.sleep(SETTLE_SECONDS)
        idle = {
            name: procs.rss_mb(proc.pid) for name, proc in (("api", api), ("worker", worker), ("web", web))
        }
        with procs.Monitor({"api": api.pid}, interval=0.05) as monitor:
            load = http_load(ctx, api, docket_targets(ctx), opts.connections, opts.duration)
        after = procs.rss_mb(api.pid)
    finally:
        for proc in (web, worker, api):
            stack.stop(proc)
    loaded = monitor.usage["api"].peak_rss_mb
    section.data = {"idle_mb": idle, "api_under_load_mb": loaded, "api_after_load_mb": after, "rps": load.rps}
    for name, value in idle.items():
        section.add(f"{name} idle RSS", value, "MB", note=f"WORKERS={opts.workers}" if name == "api" else "")
    section.add(
        "api RSS under read load", loaded, "MB", note=f"peak, {opts.connections} conns for {opts.duration:g}s"
    )
    section.add("api RSS after read load", after, "MB")
    if "worker_under_load_mb" in ctx.rss:
        section.add(
            "worker peak RSS under load",
            ctx.rss["worker_under_load_mb"],
            "MB",
            note="from the worker section",
        )
    return section
