"""``docket-worker``: run the job worker (with its probe port)."""

from __future__ import annotations

import argparse
import sys

from docket_core.settings import SettingsError, load_settings

from docket_worker.settings import WorkerSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="docket-worker", description="Docket's job worker")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="process jobs until SIGTERM; serves probes and metrics")
    parser.parse_args(argv)
    try:
        settings = load_settings(WorkerSettings)
    except SettingsError as exc:
        print(f"docket-worker: configuration error: {exc}", file=sys.stderr)
        return 2
    from docket_core.server import serve

    serve("docket_worker.app:create_app", settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
