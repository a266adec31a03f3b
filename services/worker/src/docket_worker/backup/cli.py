"""Argument parsing for the backup and restore commands."""

from __future__ import annotations

import argparse


def add_backup_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `backup …` and `restore` on the worker's CLI."""
