"""Figures as rows of a table (printed) and as JSON (bench/results/latest.json)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One figure: its value, unit, and the target it is held to (met is None when there is none)."""

    section: str
    metric: str
    value: float | str | None
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Section:
    name: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""
    error: str = ""

    def add(self, metric: str, value: float | str | None, unit: str = "", **kwargs: Any) -> Row:
        row = Row(self.name, metric, value, unit, **kwargs)
        self.rows.append(row)
        return row

    def check(
        self, metric: str, value: float | None, unit: str, limit: float, *, at_most: bool, note: str = ""
    ) -> Row:
        """A figure held to a target: ``value <= limit`` (at_most) or ``value >= limit``."""
        met = None if value is None else (value <= limit if at_most else value >= limit)
        target = f"{'≤' if at_most else '≥'} {limit:g}{(' ' + unit) if unit and unit != 'x' else ''}"
        if unit == "x":
            target = f"{'≤' if at_most else '≥'} {limit:g}x"
        return self.add(metric, value, unit, target=target, met=met, note=note)


def _format(value: float | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(sections: list[Section]) -> str:
    """A plain-text table of every figure, with targets and whether each was met."""
    header = ("section", "metric", "value", "unit", "target", "met", "note")
    lines: list[tuple[str, ...]] = [header]
    for section in sections:
        if section.skipped or section.error:
            status = f"SKIPPED: {section.skipped}" if section.skipped else f"ERROR: {section.error}"
            lines.append((section.name, status, "", "", "", "", ""))
        for row in section.rows:
            met = "" if row.met is None else ("yes" if row.met else "MISSED")
            lines.append((row.section, row.metric, _format(row.value), row.unit, row.target, met, row.note))
    widths = [max(len(line[i]) for line in lines if len(line) > i) for i in range(len(header) - 1)]
    out = []
    for n, line in enumerate(lines):
        cells = [cell.ljust(widths[i]) if i < len(widths) else cell for i, cell in enumerate(line)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def write_json(path: Path, meta: dict[str, Any], sections: list[Section]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "sections": [asdict(section) for section in sections]}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def markdown(path: Path) -> str:
    """The figures of a results file as a Markdown table (for bench/README.md)."""
    payload = json.loads(path.read_text())
    lines = ["| section | metric | value | unit | target | met | note |", "|---|---|---|---|---|---|---|"]
    for section in payload["sections"]:
        if section["skipped"] or section["error"]:
            reason = section["skipped"] or section["error"]
            lines.append(
                f"| {section['name']} | {'skipped' if section['skipped'] else 'error'}: {reason} ||||||"
            )
        for row in section["rows"]:
            met = "" if row["met"] is None else ("yes" if row["met"] else "**missed**")
            cells = [
                row["section"],
                row["metric"],
                _format(row["value"]),
                row["unit"],
                row["target"],
                met,
                row["note"],
            ]
            lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(
        markdown(
            Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results" / "latest.json"
        )
    )
