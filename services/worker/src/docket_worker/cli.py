"""``docket-worker``: run the job worker (with its probe port), manage jobs, back up and restore, and
see the search configuration and its re-index."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from docket_core.cli import settings_or_exit
from docket_worker.backup.cli import add_backup_commands
from docket_worker.jobs.admin import add_jobs_command
from docket_worker.search.cli import add_search_command
from docket_worker.settings import WorkerSettings


def _run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(WorkerSettings, "docket-worker")
    from docket_core.server import serve

    serve("docket_worker.app:create_app", settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docket-worker", description="Docket's job worker")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="process jobs until SIGTERM; serves probes and metrics")
    run.set_defaults(handler=_run)
    add_jobs_command(commands)
    add_backup_commands(commands)
    add_search_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
