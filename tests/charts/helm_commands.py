"""Run ``helm`` command lines as a guide or skaffold.yaml writes them, with the Helm SDK (helm-python),
since no helm binary is installed here.

Only the commands and flags Docket's docs use are understood; anything else raises, so a guide cannot
drift into a command that nothing checks. Installs are client-side dry runs of the real install action:
Helm checks the chart's dependencies and values and renders it, and no cluster is contacted.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import helm_python as helm
import yaml

# a kubeconfig with no cluster: a client-side dry run needs a configuration, never a server
NO_CLUSTER = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"


class UnsupportedCommandError(Exception):
    """A command line this runner does not understand."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UnsupportedCommandError(message)


def _install_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="helm install", add_help=False)
    parser.add_argument("release")
    parser.add_argument("chart")
    parser.add_argument("--install", action="store_true")
    parser.add_argument("-n", "--namespace", default="default")
    parser.add_argument("-f", "--values", action="append", default=[])
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--set-string", action="append", default=[])
    parser.add_argument("--version")
    parser.add_argument("--timeout")
    for flag in ("--atomic", "--rollback-on-failure", "--wait", "--create-namespace"):
        parser.add_argument(flag, action="store_true")
    return parser


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, maps merged key by key: how Helm combines values files and --set."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def split_commands(script: str) -> list[list[str]]:
    """The command lines of a shell snippet: continuations joined, comments and blank lines dropped."""
    joined = script.replace("\\\n", " ")
    return [argv for line in joined.splitlines() if (argv := shlex.split(line, comments=True))]


def run(argv: Sequence[str], cwd: Path) -> str | None:
    """Run one helm command line in ``cwd``; an install returns the manifest Helm would apply."""
    if not argv or argv[0] != "helm":
        raise UnsupportedCommandError(f"not a helm command: {shlex.join(argv)}")
    args = list(argv[1:])
    if args[:1] in (["dependency"], ["dep"]) and len(args) >= 3 and args[1] in ("build", "update"):
        if set(args[3:]) - {"--skip-refresh"}:
            raise UnsupportedCommandError(f"unsupported flags: {shlex.join(args[3:])}")
        action = helm.dependency_update if args[1] == "update" else helm.dependency_build
        action(cwd / args[2], skip_refresh="--skip-refresh" in args[3:])
        return None
    return _install(parse_install(argv), cwd)


def parse_install(argv: Sequence[str]) -> argparse.Namespace:
    """The options of a `helm install` or `helm upgrade --install` command line."""
    if list(argv[:2]) == ["helm", "install"] or list(argv[:3]) == ["helm", "upgrade", "--install"]:
        return _install_parser().parse_args(list(argv[2:]))
    raise UnsupportedCommandError(f"unsupported helm command: {shlex.join(argv)}")


def _install(options: argparse.Namespace, cwd: Path) -> str:
    values: dict[str, Any] = {}
    for path in options.values:
        values = merge(values, yaml.safe_load((cwd / path).read_text()) or {})
    for expression in options.set:
        values = merge(values, helm.parse_set_string(expression))
    for expression in options.set_string:
        values = merge(values, helm.parse_set_string_values(expression))
    chart = options.chart if options.chart.startswith("oci://") else str(cwd / options.chart)
    with helm.Config(
        storage_driver="memory", namespace=options.namespace, kubeconfig_content=NO_CLUSTER
    ) as config:
        release = config.install(
            chart,
            options.release,
            values,
            namespace=options.namespace,
            dry_run="client",
            chart_version=options.version,
        )
    return str(release["manifest"])
