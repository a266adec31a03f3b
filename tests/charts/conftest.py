"""Fixtures of the chart tests: the charts prepared once per session, a caching renderer, and the
report printed in the terminal summary (objects validated, checkov counts, lint messages)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "charts" / "tools"))

import chartlib


@pytest.fixture(scope="session")
def chart_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of charts/ with the umbrella's file:// dependencies built into charts/docket/charts/."""
    return chartlib.prepare_charts(tmp_path_factory.mktemp("charts"))


@pytest.fixture(scope="session")
def renderer(chart_root: Path) -> chartlib.Renderer:
    return chartlib.Renderer(chart_root)


@pytest.fixture(scope="session")
def all_rendered(renderer: chartlib.Renderer) -> list[chartlib.Rendered]:
    return [renderer.render(case) for case in chartlib.CASES]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = chartlib.REPORT.lines()
    if lines:
        terminalreporter.write_sep("-", "Helm charts and Kubernetes manifests")
        for line in lines:
            terminalreporter.write_line(line)
