"""4. Upload: 64 uploads of 1 MiB, then 8 concurrent uploads of 20 MiB; MiB/s and the API's peak RSS."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from bench import procs, seed
from bench.context import Context
from bench.report import Section
from bench.stats import median
from bench.uploads import MIB, UploadRun, upload

SMALL, SMALL_COUNT, SMALL_CONCURRENCY = 1 * MIB, 64, 64
LARGE, LARGE_COUNT = 20 * MIB, 8  # MAX_UPLOAD_BYTES is 20 MiB: the largest file Docket accepts


def run(ctx: Context) -> Section:
    section = Section("upload")
    opts, stack = ctx.options, ctx.stack
    with psycopg.connect(stack.database_url) as conn:
        uploader = seed.create_users(conn, 1, "uploader")[0]
    api = stack.start_api(workers=opts.workers, name="api-upload")  # fresh: VmHWM covers this section only
    runs: dict[str, list[dict[str, Any]]] = {"small": [], "large": []}
    try:
        token = seed.login(api.url(), uploader.email)
        idle_rss = procs.rss_mb(api.pid)
        for round_no in range(opts.rounds):
            for name, size, count, concurrency in (
                ("small", SMALL, SMALL_COUNT, SMALL_CONCURRENCY),
                ("large", LARGE, LARGE_COUNT, LARGE_COUNT),
            ):
                tag = f"r{round_no}-{name}-{uuid.uuid4().hex[:8]}"
                with procs.Monitor(
                    {"api": api.pid, "postgres": stack.postmaster_pid}, interval=0.02
                ) as monitor:
                    result = upload(
                        api.url(), token, count=count, size=size, concurrency=concurrency, tag=tag
                    )
                runs[name].append(_figures(result, monitor))
                seed.delete_owner_documents(stack.database_url, uploader.id)
        hwm = procs.hwm_mb(api.pid)
    finally:
        stack.stop(api)
    small, large = runs["small"], runs["large"]
    section.data = {"idle_rss_mb": idle_rss, "vm_hwm_mb": hwm, **runs}
    section.add(
        "1 MiB x 64 throughput",
        median([r["mib_s"] for r in small]),
        "MiB/s",
        note=f"{SMALL_CONCURRENCY} at once, median of {opts.rounds}",
    )
    section.add("20 MiB x 8 throughput", median([r["mib_s"] for r in large]), "MiB/s", note="8 at once")
    section.check("upload errors", sum(r["failed"] for r in small + large), "", 0, at_most=True)
    section.add("API RSS idle before uploads", idle_rss, "MB")
    section.check(
        "API peak RSS during 20 MiB x 8",
        max(r["api_peak_rss_mb"] for r in large),
        "MB",
        250,
        at_most=True,
        note=f"sampled every 20 ms; VmHWM over the section {hwm:.0f} MB",
    )
    section.add(
        "client CPU share (20 MiB runs)",
        median([r["client_cpu_share"] for r in large]),
        "x",
        note="httpx client CPU / API CPU",
    )
    return section


def _figures(result: UploadRun, monitor: procs.Monitor) -> dict[str, Any]:
    api = monitor.usage["api"]
    return {
        "seconds": result.seconds,
        "mib_s": result.mib_per_second,
        "failed": result.failed,
        "statuses": sorted(set(result.statuses)),
        "api_peak_rss_mb": api.peak_rss_mb,
        "api_cpu_seconds": api.cpu_seconds,
        "postgres_cpu_seconds": monitor.usage["postgres"].cpu_seconds,
        "client_cpu_seconds": result.client_cpu_seconds,
        "client_cpu_share": result.client_cpu_seconds / api.cpu_seconds if api.cpu_seconds else 0.0,
    }
