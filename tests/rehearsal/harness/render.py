"""Render the umbrella chart with real Helm (helm_python) into plain objects."""

from __future__ import annotations

import copy
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[3]
CHARTS = ROOT / "charts"
VALUES_FILE = Path(__file__).resolve().parents[1] / "values.yaml"
IMAGE_TAG = os.environ.get("DOCKET_IMAGE_TAG", "dev")  # docket-{api,worker,web}:<tag>, from `make images`
RELEASE = "docket"
NAMESPACE = "docket"

Obj = dict[str, Any]


@functools.cache
def _umbrella(charts: Path = CHARTS) -> helm.Chart:
    """``charts`` (this tree's, or a previous release's) copied once with the umbrella's file://
    dependencies built (offline)."""
    sys.path.insert(0, str(CHARTS / "tools"))
    import chartpack

    root = Path(tempfile.mkdtemp(prefix="docket-rehearsal-charts-"))
    for chart in ("common", "api", "web", "worker", "docket"):
        shutil.copytree(charts / chart, root / chart, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    chartpack.build_dependencies(root)
    return helm.Chart.load(root / "docket")


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's value merge: maps merge key by key, anything else is replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def rehearsal_values(*overrides: Mapping[str, Any], values_file: Path = VALUES_FILE) -> dict[str, Any]:
    """tests/rehearsal/values.yaml with ``overrides`` merged on top, as `-f values.yaml --set ...` would."""
    values: dict[str, Any] = yaml.safe_load(values_file.read_text()) or {}
    for override in overrides:
        values = merge(values, override)
    return values


def render(values: Mapping[str, Any], *, upgrade: bool = False, charts: Path = CHARTS) -> list[Obj]:
    """Every object the umbrella chart renders for ``values`` (hooks included), in template order."""
    files = _umbrella(charts).render(
        copy.deepcopy(dict(values)),
        name=RELEASE,
        namespace=NAMESPACE,
        is_install=not upgrade,
        is_upgrade=upgrade,
    )
    return [
        doc
        for path, text in sorted(files.items())
        if path.endswith((".yaml", ".yml"))
        for doc in yaml.safe_load_all(text)
        if doc
    ]
