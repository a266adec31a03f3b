"""``docket-worker jobs``: list dead jobs and put them back in the queue."""

from __future__ import annotations

import argparse
import sys

import psycopg

from docket_core.cli import settings_or_exit
from docket_core.tables import jobs
from docket_worker.settings import WorkerSettings


def add_jobs_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("jobs", help="inspect the queue; list and retry dead jobs")
    parser.add_argument("--dead", action="store_true", help="list jobs that used every attempt")
    retry = parser.add_mutually_exclusive_group()
    retry.add_argument("--retry", type=int, metavar="ID", action="append", help="requeue this dead job")
    retry.add_argument("--retry-all", action="store_true", help="requeue every dead job")
    parser.set_defaults(handler=run_jobs_command)


def run_jobs_command(args: argparse.Namespace) -> int:
    settings = settings_or_exit(WorkerSettings, "docket-worker")
    if not settings.database_url:
        print("docket-worker: DATABASE_URL is not set", file=sys.stderr)
        return 2
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        if args.retry or args.retry_all:
            requeued = jobs.requeue_dead(conn, args.retry or [], every=bool(args.retry_all))
            missing = sorted(set(args.retry or []) - set(requeued))
            print(f"requeued {len(requeued)} job(s): {', '.join(map(str, requeued)) or '-'}")
            if missing:
                print(f"not dead (or unknown): {', '.join(map(str, missing))}", file=sys.stderr)
                return 1
            return 0
        rows = jobs.unfinished(conn, dead_only=args.dead)
    print(f"{'ID':>8}  {'KIND':18} {'STATUS':9} {'TRIES':>5}  {'UPDATED':20} LAST ERROR")
    for row in rows:
        error = (row["last_error"] or "").splitlines()[0][:80] if row["last_error"] else ""
        tries = f"{row['attempts']}/{row['max_attempts']}"
        print(
            f"{row['id']:>8}  {row['kind']:18} {row['status']:9} {tries:>5}  "
            f"{row['updated_at']:%Y-%m-%d %H:%M:%S}  {error}"
        )
    print(f"{len(rows)} job(s)")
    return 0
