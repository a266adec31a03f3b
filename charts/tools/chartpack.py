"""Build the charts' file:// dependencies and package the charts, with real Helm (helm-python).

    python charts/tools/chartpack.py deps        # charts/*/charts/, in place (make charts-deps)
    python charts/tools/chartpack.py package --destination dist/charts [--version 1.2.3] [--app-version 1.2.3]
                                                 # one .tgz per chart (make charts)

Helm's ``dependency update`` does not recurse: packing ``file://../api`` into the umbrella takes
``charts/api`` as it stands, so ``api`` gets its own ``common`` first, or the packed api lacks it.
``deps`` and ``package`` therefore walk the charts in dependency order. ``package`` works on a copy:
the versions it sets (each chart's ``version`` and ``appVersion``, and the versions of its file://
dependencies) never touch the files in git.
"""

from __future__ import annotations

import argparse
import graphlib
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

CHARTS = Path(__file__).resolve().parents[1]
LOCAL = "file://../"
# SemVer 2 without a leading "v": what Helm accepts as a chart version and OCI uses as the tag
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)


class ChartPackError(Exception):
    """A problem the user can fix, reported as one line."""


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


def check_version(option: str, version: str | None) -> None:
    if version is not None and not SEMVER.match(version):
        raise ChartPackError(f"{option} {version!r} is not a SemVer version such as 1.2.3 (no leading v)")


def set_versions(chart_dir: Path, version: str | None, app_version: str | None) -> None:
    """Rewrite a copied Chart.yaml: its version, appVersion and the versions of its file:// dependencies."""
    chart = metadata(chart_dir)
    if version is not None:
        chart["version"] = version
        for dependency in chart.get("dependencies") or []:
            if dependency["repository"].startswith(LOCAL):
                dependency["version"] = version
    if app_version is not None:
        chart["appVersion"] = app_version
    (chart_dir / "Chart.yaml").write_text(yaml.safe_dump(chart, sort_keys=False))


def package(
    destination: Path, *, version: str | None = None, app_version: str | None = None, source: Path = CHARTS
) -> list[Path]:
    """Package every chart under ``source`` with its dependencies into ``destination`` (emptied first)."""
    check_version("CHART_VERSION", version)
    if app_version is not None and not app_version.strip():
        raise ChartPackError("APP_VERSION is empty")
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="chartpack-") as scratch:
        work = Path(scratch)
        for chart_yaml in source.glob("*/Chart.yaml"):
            shutil.copytree(
                chart_yaml.parent,
                work / chart_yaml.parent.name,
                ignore=shutil.ignore_patterns("charts", "Chart.lock"),
            )
            set_versions(work / chart_yaml.parent.name, version, app_version)
        build_dependencies(work)
        return [Path(helm.package(work / name, destination=destination)) for name in charts_in(work)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("deps", help="build every chart's file:// dependencies into its charts/, in place")
    pack = commands.add_parser("package", help="package every chart with its dependencies")
    pack.add_argument("--destination", type=Path, required=True)
    pack.add_argument("--version", help="each chart's version (default: Chart.yaml)")
    pack.add_argument("--app-version", help="each chart's appVersion (default: Chart.yaml)")
    args = parser.parse_args(argv)
    try:
        if args.command == "deps":
            for name in build_dependencies(CHARTS):
                print(f"built charts/{name}/charts/")
        else:
            for archive in package(args.destination, version=args.version, app_version=args.app_version):
                print(f"packaged {archive}")
    except (ChartPackError, helm.HelmError) as error:
        print(f"chartpack: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
