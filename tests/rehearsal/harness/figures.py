"""The figures each scenario measures, printed at the end of the run and kept in tests/artifacts/."""

from __future__ import annotations

from typing import Any

FIGURES: dict[str, dict[str, Any]] = {}


def record(scenario: str, **figures: Any) -> None:
    """Keep figures of ``scenario`` for the summary and tests/artifacts/rehearsal.json."""
    FIGURES.setdefault(scenario, {}).update(figures)
