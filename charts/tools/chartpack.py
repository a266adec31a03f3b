"""Build the charts' file:// dependencies and package the charts, with real Helm (helm-python).

    python charts/tools/chartpack.py deps                          # charts/*/charts/, in place

Helm's ``dependency update`` does not recurse: packing ``file://../api`` into the umbrella takes
``charts/api`` as it stands, so ``api`` must hold its own ``common`` first. ``deps`` therefore walks
the charts in dependency order.
"""

from __future__ import annotations

import argparse
import graphlib
import sys
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

CHARTS = Path(__file__).resolve().parents[1]
LOCAL = "file://../"


def metadata(chart_dir: Path) -> dict[str, Any]:
    """The chart's Chart.yaml."""
    return yaml.safe_load((chart_dir / "Chart.yaml").read_text())  # type: ignore[no-any-return]


def local_dependencies(chart_dir: Path) -> list[str]:
    """The sibling charts this chart names as file:// dependencies."""
    dependencies = metadata(chart_dir).get("dependencies") or []
    return [d["repository"].removeprefix(LOCAL) for d in dependencies if d["repository"].startswith(LOCAL)]


def charts_in(root: Path) -> list[str]:
    """Every chart directly under ``root``, each after the charts it depends on."""
    names = sorted(path.parent.name for path in root.glob("*/Chart.yaml"))
    order = graphlib.TopologicalSorter({name: local_dependencies(root / name) for name in names})
    return list(order.static_order())


def build_dependencies(root: Path) -> list[str]:
    """Pack each chart's file:// dependencies into its charts/ (no network); returns the charts built."""
    built = []
    for name in charts_in(root):
        if local_dependencies(root / name):
            helm.dependency_update(root / name)
            built.append(name)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("deps", help="build every chart's file:// dependencies into its charts/, in place")
    parser.parse_args(argv)
    try:
        for name in build_dependencies(CHARTS):
            print(f"built charts/{name}/charts/")
    except helm.HelmError as error:
        print(f"chartpack: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
