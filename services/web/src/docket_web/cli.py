"""``docket-web``: serve the web UI."""

from __future__ import annotations

import argparse
import sys

from docket_core.cli import settings_or_exit
from docket_web.settings import WebSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="docket-web", description="Docket's web UI")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve HTTP until SIGTERM")
    parser.parse_args(argv)
    settings = settings_or_exit(WebSettings, "docket-web")
    from docket_core.server import serve

    serve("docket_web.app:create_app", settings, settings.management_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
