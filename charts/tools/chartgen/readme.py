"""The parameter table of each chart's README, between its markers."""

from __future__ import annotations

import json
from typing import Any

import yaml

from .layout import CHARTS
from .values_file import parse_values

START, END = "<!-- parameters:start -->", "<!-- parameters:end -->"


def lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node[part]
    return node


def format_default(value: Any) -> str:
    text = json.dumps(value).replace("|", "\\|")
    return f"`{text}`"


def parameter_table(chart: str) -> str:
    values_path = CHARTS / chart / "values.yaml"
    values = yaml.safe_load(values_path.read_text())
    rows = ["| Key | Default | Description |", "|---|---|---|"]
    for param in parse_values(values_path):
        if not param.leaf:
            continue
        description = param.description.replace("|", "\\|")
        rows.append(f"| `{param.path}` | {format_default(lookup(values, param.path))} | {description} |")
    return "\n".join(rows)


def readme_with_table(chart: str) -> str:
    readme = (CHARTS / chart / "README.md").read_text()
    head, sep, rest = readme.partition(START)
    if not sep:
        raise SystemExit(f"charts/{chart}/README.md has no {START} marker")
    _, sep, tail = rest.partition(END)
    if not sep:
        raise SystemExit(f"charts/{chart}/README.md has no {END} marker")
    return f"{head}{START}\n{parameter_table(chart)}\n{END}{tail}"
