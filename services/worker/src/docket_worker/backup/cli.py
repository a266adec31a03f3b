"""Argument parsing for the backup and restore commands; the handlers load only when one runs."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_backup_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `backup …` and `restore` on the worker's CLI."""
    backup = commands.add_parser("backup", help="back up the database: run, prune, list, verify")
    actions = backup.add_subparsers(dest="backup_command", required=True)
    run = actions.add_parser("run", help="dump the database to every target, then prune")
    run.set_defaults(handler=_handler("run"))
    prune_cmd = actions.add_parser("prune", help="delete backups the retention policy expires, and debris")
    prune_cmd.set_defaults(handler=_handler("prune"))
    listing = actions.add_parser("list", help="show backups with their age, size and verification")
    listing.add_argument("--from", dest="source", choices=["dir", "s3", "all"], default="all")
    listing.set_defaults(handler=_handler("list"))
    verify = actions.add_parser("verify", help="check a backup's checksum and contents; record the result")
    _add_choice_of_backup(verify, required=False)
    verify.add_argument("--restore-test", action="store_true", help="also restore into a scratch database")
    verify.set_defaults(handler=_handler("verify"))

    restore = commands.add_parser("restore", help="restore a backup into the database at --target-url")
    _add_choice_of_backup(restore, required=True)
    restore.add_argument("--target-url", required=True, help="PostgreSQL URL of the database to fill")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.add_argument("--clean", action="store_true", help="drop and replace the backup's objects first")
    restore.set_defaults(handler=_handler("restore"))


def _add_choice_of_backup(parser: argparse.ArgumentParser, *, required: bool) -> None:
    which = parser.add_mutually_exclusive_group(required=required)
    which.add_argument("name", nargs="?", help="a backup name such as docket-20250101T020000Z")
    which.add_argument("--latest", action="store_true", help="the newest complete backup")
    parser.add_argument("--from", dest="source", choices=["dir", "s3"], default="dir", help="default: dir")


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        from docket_worker.backup.commands import run_command

        return run_command(command, args)

    return handle
