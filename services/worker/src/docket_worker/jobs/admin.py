"""``docket-worker jobs``: list dead jobs and put them back in the queue."""

from __future__ import annotations

import argparse
import sys

import psycopg
from psycopg.rows import dict_row

from docket_core.cli import settings_or_exit
from docket_core.contracts import JOBS_NOTIFY_CHANNEL
from docket_worker.settings import WorkerSettings


def add_jobs_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = commands.add_parser("jobs", help="inspect the queue; list and retry dead jobs")
    jobs.add_argument("--dead", action="store_true", help="list jobs that used every attempt")
    retry = jobs.add_mutually_exclusive_group()
    retry.add_argument("--retry", type=int, metavar="ID", action="append", help="requeue this dead job")
    retry.add_argument("--retry-all", action="store_true", help="requeue every dead job")
    jobs.set_defaults(handler=run_jobs_command)


def run_jobs_command(args: argparse.Namespace) -> int:
    settings = settings_or_exit(WorkerSettings, "docket-worker")
    if not settings.database_url:
        print("docket-worker: DATABASE_URL is not set", file=sys.stderr)
        return 2
    with psycopg.connect(settings.database_url, autocommit=True, row_factory=dict_row) as conn:
        if args.retry or args.retry_all:
            cur = conn.execute(
                "UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), locked_by = NULL, "
                "locked_until = NULL, finished_at = NULL, updated_at = now() "
                "WHERE status = 'dead' AND (%s OR id = ANY(%s)) RETURNING id",
                (bool(args.retry_all), args.retry or []),
            )
            requeued = [row["id"] for row in cur.fetchall()]
            conn.execute("SELECT pg_notify(%s, 'retry')", (JOBS_NOTIFY_CHANNEL,))
            missing = sorted(set(args.retry or []) - set(requeued))
            print(f"requeued {len(requeued)} job(s): {', '.join(map(str, requeued)) or '-'}")
            if missing:
                print(f"not dead (or unknown): {', '.join(map(str, missing))}", file=sys.stderr)
                return 1
            return 0
        where = "status = 'dead'" if args.dead else "status <> 'succeeded'"
        rows = conn.execute(
            f"SELECT id, kind, status, attempts, max_attempts, updated_at, last_error FROM jobs "  # noqa: S608
            f"WHERE {where} ORDER BY id"
        ).fetchall()
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
