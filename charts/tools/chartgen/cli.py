"""Write the generated files, or report the stale ones (``--check``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .layout import ALL_CHARTS, CHARTS
from .readme import readme_with_table
from .schema import schema_for


def generated_files() -> dict[Path, str]:
    """Every generated file and the content it should have."""
    files: dict[Path, str] = {}
    for chart in ALL_CHARTS:
        files[CHARTS / chart / "values.schema.json"] = json.dumps(schema_for(chart), indent=2) + "\n"
        files[CHARTS / chart / "README.md"] = readme_with_table(chart)
    return files


def stale_files() -> list[Path]:
    return [path for path, text in generated_files().items() if not path.exists() or path.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report stale files instead of writing them")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path.relative_to(CHARTS.parent)} (run make charts-docs)")
        return 1 if stale else 0
    for path, text in generated_files().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(CHARTS.parent)}")
    return 0
