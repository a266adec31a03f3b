"""`make bench`: start the real stack, seed it, run the chosen sections, print and save the figures.

python -m bench.run --only read,worker --duration 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import seed
from bench.context import SECTIONS, Context, Options
from bench.report import Section, table, write_json
from bench.stack import ROOT, Stack

RESULTS = ROOT / "bench" / "results"


def parse(argv: list[str] | None = None) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument(
        "--only", default="", help=f"comma-separated sections (default all): {','.join(SECTIONS)}"
    )
    parser.add_argument("--duration", type=float, default=defaults.duration, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=defaults.rounds, help="alternating rounds (at least 3)")
    parser.add_argument(
        "--workers", type=int, default=defaults.workers, help="API server processes (WORKERS)"
    )
    parser.add_argument("--connections", type=int, default=defaults.connections)
    parser.add_argument("--backup-mb", type=int, default=defaults.backup_mb, help="blob megabytes for backup")
    parser.add_argument("--worker-docs", type=int, default=defaults.worker_docs)
    parser.add_argument(
        "--search-large-docs",
        type=int,
        default=defaults.search_large_docs,
        help="documents of the one large workspace the search section adds (0: skip that case)",
    )
    parser.add_argument(
        "--detail-text-kb", type=int, default=defaults.detail_text_kb, help="text of each document read"
    )
    parser.add_argument(
        "--worker-concurrency", type=int, default=0, help="WORKER_CONCURRENCY (default: its own)"
    )
    parser.add_argument(
        "--worker-concurrency-sweep", default="", help="e.g. 8,16: also alternate 1-process runs at these"
    )
    parser.add_argument("--image-tag", default=defaults.image_tag)
    parser.add_argument("--base-image", default=defaults.base_image)
    parser.add_argument("--no-pg-fsync", action="store_true", help="run PostgreSQL with fsync=off")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy flame graph of Docket's read path (bench/profiles/)"
    )
    args = parser.parse_args(argv)
    only = tuple(s.strip() for s in args.only.split(",") if s.strip()) or SECTIONS
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if args.rounds < 3:
        parser.error("--rounds must be at least 3: comparisons report medians of alternated rounds")
    return Options(
        only=only,
        duration=args.duration,
        rounds=args.rounds,
        workers=args.workers,
        connections=args.connections,
        backup_mb=args.backup_mb,
        worker_docs=args.worker_docs,
        search_large_docs=args.search_large_docs,
        detail_text_kb=args.detail_text_kb,
        worker_concurrency=args.worker_concurrency,
        worker_concurrency_sweep=tuple(int(c) for c in args.worker_concurrency_sweep.split(",") if c.strip()),
        image_tag=args.image_tag,
        base_image=args.base_image,
        pg_fsync=not args.no_pg_fsync,
        profile=args.profile,
    )


def machine() -> dict[str, object]:
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def run_section(name: str, ctx: Context) -> Section:
    module = importlib.import_module(f"bench.sections.{name}")
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    print(f"bench: {name} ...", flush=True)
    try:
        section: Section = module.run(ctx)
    except Exception as exc:
        traceback.print_exc()
        section = Section(name, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    section.data["seconds"] = round(time.monotonic() - started, 1)
    # other tenants of a shared machine show here: our own load is at most ~2.5 on 2 cores
    section.data["load_average_1m"] = {"before": load_before, "after": os.getloadavg()[0]}
    print(f"bench: {name} done in {section.data['seconds']}s", flush=True)
    return section


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="docket-bench-"))
    stack = Stack(workdir, pg_fsync=options.pg_fsync)
    sections: list[Section] = []
    try:
        print(f"bench: starting PostgreSQL, Redis and the OTLP sink (logs in {workdir})", flush=True)
        stack.start()
        corpus = seed.seed_corpus(
            stack.database_url, options.users, options.docs_per_user, options.text_bytes
        )
        print(f"bench: seeded {corpus.documents} documents for {len(corpus.users)} users", flush=True)
        ctx = Context(options, stack, corpus, readers=corpus.users[: options.login_users])
        api = stack.start_api()
        ctx.tokens = [seed.login(api.url(), user.email) for user in ctx.readers]
        stack.stop(api)
        sections = [run_section(name, ctx) for name in SECTIONS if name in options.only]
    finally:
        stack.close()
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "options": {k: v for k, v in vars(options).items()},
        "seconds": round(time.monotonic() - started, 1),
    }
    print()
    print(table(sections))
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "latest.json", meta, sections)
    shutil.copy(RESULTS / "latest.json", RESULTS / f"bench-{meta['date']}.json".replace(":", ""))
    print(f"\nbench: figures in {RESULTS / 'latest.json'}; total {meta['seconds']}s")
    failed = any(section.error for section in sections)
    if not failed:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
