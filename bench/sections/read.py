"""1-2. The read path: Docket's authenticated list vs the bare reference app vs pgbench, alternated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from bench import openloop, pgbench, wrk
from bench.context import Context
from bench.procs import Monitor, Proc
from bench.reference.app import LIST_SQL
from bench.report import Section
from bench.stats import alternate, median, ratio
from bench.wrk import LoadResult, Target

LIMIT = 50
DOCKET_PATH = f"/api/v1/documents?limit={LIMIT}"


def docket_targets(ctx: Context) -> list[Target]:
    return [Target(DOCKET_PATH, {"Authorization": f"Bearer {token}"}) for token in ctx.tokens]


def reference_targets(ctx: Context) -> list[Target]:
    return [Target(f"/documents?owner={user.id}&limit={LIMIT}") for user in ctx.readers]


def pgbench_scripts(ctx: Context) -> list[str]:
    # the statement Docket sends (limit + 1 rows, to know whether there is a next page)
    return [LIST_SQL.replace("%s", f"'{user.id}'", 1).replace("%s", str(LIMIT + 1)) for user in ctx.readers]


def same_answer(ctx: Context, docket: Proc, reference: Proc) -> None:
    """Both apps return the same page for the same user, or the comparison would mean nothing."""
    ours = httpx.get(
        docket.url(DOCKET_PATH), headers={"Authorization": f"Bearer {ctx.tokens[0]}"}, timeout=10
    )
    theirs = httpx.get(reference.url(f"/documents?owner={ctx.readers[0].id}&limit={LIMIT}"), timeout=10)
    ours.raise_for_status()
    theirs.raise_for_status()
    if ours.json() != theirs.json() or len(ours.json()["items"]) != LIMIT:
        raise RuntimeError("Docket and the reference app answer the list query differently")


def measured(
    ctx: Context, load: Callable[[], LoadResult], groups: dict[str, int]
) -> Callable[[], dict[str, Any]]:
    """A contender: one load run with the CPU and memory of each process group beside it."""

    def measure() -> dict[str, Any]:
        with Monitor(groups) as monitor:
            result = load()
        usage = {
            name: {
                "cpu_cores": u.cpu_seconds / monitor.seconds,
                "cpu_seconds": u.cpu_seconds,
                "peak_rss_mb": u.peak_rss_mb,
            }
            for name, u in monitor.usage.items()
        }
        usage["client"] = {
            "cpu_cores": result.client_cpu_seconds / monitor.seconds,
            "cpu_seconds": result.client_cpu_seconds,
            "peak_rss_mb": 0.0,
        }
        return {"load": result, "usage": usage}

    return measure


def http_load(
    ctx: Context, proc: Proc, targets: list[Target], connections: int, seconds: float
) -> LoadResult:
    opts = ctx.options
    return wrk.run(proc.url(), targets, connections=connections, threads=opts.threads, seconds=seconds)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    loads: list[LoadResult] = [run["load"] for run in runs]
    groups = runs[0]["usage"].keys()
    return {
        "rps": median([x.rps for x in loads]),
        "p50_ms": median([x.p50_ms for x in loads]),
        "p99_ms": median([x.p99_ms for x in loads]),
        "errors": sum(x.failed for x in loads),
        "requests": sum(x.requests for x in loads),
        "rounds": [vars(x) for x in loads],
        "cpu_cores": {g: median([run["usage"][g]["cpu_cores"] for run in runs]) for g in groups},
        # CPU per request is steadier than req/s on a shared machine: other tenants slow us, not it
        "server_cpu_ms_per_request": median(
            [
                1000 * run["usage"].get("server", {}).get("cpu_seconds", 0.0) / max(run["load"].requests, 1)
                for run in runs
            ]
        ),
        "peak_rss_mb": {g: max(run["usage"][g]["peak_rss_mb"] for run in runs) for g in groups},
    }


def run(ctx: Context) -> Section:
    section = Section("read")
    opts, stack = ctx.options, ctx.stack
    docket = stack.start_api(workers=opts.workers)
    reference = stack.start_reference(workers=opts.workers)
    try:
        same_answer(ctx, docket, reference)
        databases = {"postgres": stack.postmaster_pid, "redis": stack.redis_pid}
        assert stack.pg is not None
        pg_bin, pg_port = stack.pg.bin, stack.pg.port
        conns, seconds = opts.connections, opts.duration
        contenders = {
            "docket": measured(
                ctx,
                lambda: http_load(ctx, docket, docket_targets(ctx), conns, seconds),
                {"server": docket.pid, **databases},
            ),
            "reference": measured(
                ctx,
                lambda: http_load(ctx, reference, reference_targets(ctx), conns, seconds),
                {"server": reference.pid, **databases},
            ),
            "pgbench": measured(
                ctx,
                lambda: pgbench.run(
                    pg_bin,
                    pg_port,
                    pgbench_scripts(ctx),
                    clients=conns,
                    threads=opts.threads,
                    seconds=seconds,
                ),
                databases,
            ),
        }
        http_load(ctx, docket, docket_targets(ctx), conns, opts.warmup)
        http_load(ctx, reference, reference_targets(ctx), conns, opts.warmup)
        results = {name: summarise(runs) for name, runs in alternate(contenders, opts.rounds).items()}
        # open loop at half the bare reference's closed-loop maximum, measured just now
        rate = max(results["reference"]["rps"] / 2, 1.0)
        if opts.profile:
            profile_read_path(ctx, docket, seconds)
        open_runs = alternate(
            {
                "docket": lambda: openloop.run(docket.url(), docket_targets(ctx), rate, seconds, conns),
                "reference": lambda: openloop.run(
                    reference.url(), reference_targets(ctx), rate, seconds, conns
                ),
            },
            opts.rounds,
        )
    finally:
        stack.stop(reference)
        stack.stop(docket)
    ours, bare, ceiling = results["docket"], results["reference"], results["pgbench"]
    ctx.rss["api_under_read_load_mb"] = ours["peak_rss_mb"]["server"]
    opened = {name: summarise_open(runs) for name, runs in open_runs.items()}
    section.data = {"connections": opts.connections, "workers": opts.workers, **results, "open_loop": opened}
    section.add(
        "docket req/s", ours["rps"], "req/s", note=f"{opts.connections} conns, median of {opts.rounds}"
    )
    section.add("docket p50", ours["p50_ms"], "ms")
    section.add("docket p99", ours["p99_ms"], "ms", note="closed loop: latency follows throughput")
    section.check("docket errors", ours["errors"], "", 0, at_most=True)
    section.add("reference req/s", bare["rps"], "req/s", note="bare Litestar+msgspec+psycopg-pool")
    section.add("reference p99", bare["p99_ms"], "ms")
    section.add("pgbench tps", ceiling["rps"], "tx/s", note="same query, database ceiling")
    section.add("pgbench p99", ceiling["p99_ms"], "ms")
    section.check("docket / reference", ratio(ours["rps"], bare["rps"]), "x", 0.70, at_most=False)
    section.add("docket / pgbench", ratio(ours["rps"], ceiling["rps"]), "x")
    cost, bare_cost = ours["server_cpu_ms_per_request"], bare["server_cpu_ms_per_request"]
    section.add("docket server CPU per request", cost, "ms")
    section.add("reference server CPU per request", bare_cost, "ms")
    section.check(
        "docket / reference by CPU per request",
        ratio(bare_cost, cost),
        "x",
        1.0,
        at_most=False,
        note="noise-robust form of the req/s ratio; issue #16's floor is 0.85x",
    )
    cpu = ours["cpu_cores"]
    section.add(
        "docket CPU split",
        " ".join(f"{name}={value:.2f}" for name, value in cpu.items()),
        "cores",
        note="wrk is 'client'; 2 cores in all",
    )
    section.add("docket API peak RSS under load", ours["peak_rss_mb"]["server"], "MB")
    for name in ("docket", "reference"):
        run = opened[name]
        note = f"{run['rate']:.0f} req/s asked (half the reference's max), {run['achieved_rps']:.0f} served"
        section.add(f"{name} open-loop p50", run["p50_ms"], "ms", note=note)
        if name == "docket":
            section.check("docket open-loop p99", run["p99_ms"], "ms", 25, at_most=True)
            section.check("docket open-loop p99.9", run["p999_ms"], "ms", 60, at_most=True)
            section.check("docket open-loop failures", run["failed"], "", 0, at_most=True)
        else:
            section.add("reference open-loop p99", run["p99_ms"], "ms")
            section.add("reference open-loop p99.9", run["p999_ms"], "ms")
    return section


def profile_read_path(ctx: Context, docket: Proc, seconds: float) -> None:
    """A py-spy flame graph of the API serving the 64-connection read load (bench/profiles/)."""
    import datetime as dt
    import subprocess

    from bench.stack import ROOT
    from bench.tools import py_spy

    out = ROOT / "bench" / "profiles" / f"read-{dt.date.today().isoformat()}.svg"
    out.parent.mkdir(exist_ok=True)
    recorder = subprocess.Popen(
        [str(py_spy()), "record", "--pid", str(docket.pid), "--subprocesses", "--rate", "200",
         "--duration", str(int(seconds)), "--format", "flamegraph", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    http_load(ctx, docket, docket_targets(ctx), ctx.options.connections, seconds)
    recorder.wait(timeout=seconds + 60)


def summarise_open(runs: list[openloop.OpenLoopResult]) -> dict[str, Any]:
    """Medians of the alternated open-loop rounds (failures summed), with every round kept."""
    return {
        "rate": runs[0].rate,
        "achieved_rps": median([r.achieved_rps for r in runs]),
        "p50_ms": median([r.p50_ms for r in runs]),
        "p99_ms": median([r.p99_ms for r in runs]),
        "p999_ms": median([r.p999_ms for r in runs]),
        "failed": sum(r.failed for r in runs),
        "late_sends": sum(r.late_sends for r in runs),
        "rounds": [vars(r) for r in runs],
    }
