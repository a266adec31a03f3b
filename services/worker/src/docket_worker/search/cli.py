"""``docket-worker search``: the deployment's text-search configuration, and how far a re-index has come.

The progress is deployment-wide (every workspace's documents), so it is an operator's command and a
metric (``docket_search_reindex_remaining_documents``), not an API route: no workspace role may learn
how many documents the whole deployment holds.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import psycopg

from docket_core.cli import settings_or_exit
from docket_core.tables import search_settings
from docket_worker.settings import WorkerSettings


def add_search_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "search", help="the text-search configuration and the progress of a re-index"
    )
    parser.set_defaults(handler=run_search_command)


def describe(state: dict[str, Any]) -> list[str]:
    """What an operator reads: the configuration, then the re-index in progress, or the last one."""
    lines = [f"configuration: {state['text_config']}"]
    total, done = state["reindex_total"] or 0, state["reindex_done"] or 0
    if state["previous_config"] is not None:
        share = f" ({100 * done // total} %)" if total else ""
        lines.append(
            f"re-index from {state['previous_config']}: {done:,} of {total:,} documents{share}, "
            f"started {state['reindex_started_at']:%Y-%m-%d %H:%M:%S %Z}; search matches both until it ends"
        )
    elif state["reindex_finished_at"] is not None:
        lines.append(
            f"last re-index: {done:,} documents, finished {state['reindex_finished_at']:%Y-%m-%d %H:%M:%S %Z}"
        )
    else:
        lines.append("no re-index has run")
    return lines


def run_search_command(args: argparse.Namespace) -> int:
    settings = settings_or_exit(WorkerSettings, "docket-worker")
    if not settings.database_url:
        print("docket-worker: DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        with psycopg.connect(settings.database_url, autocommit=True, connect_timeout=10) as conn:
            state = search_settings.read(conn)
    except psycopg.errors.UndefinedTable:
        state = None
    except psycopg.OperationalError as exc:
        print(
            f"docket-worker: cannot reach the database: {str(exc).strip().splitlines()[0]}", file=sys.stderr
        )
        return 1
    if state is None:
        print("docket-worker: the database has no search settings; run `docket-api migrate`", file=sys.stderr)
        return 1
    print("\n".join(describe(state)))
    return 0
