"""After a restore: ask `docket-api migrate --status` whether the schema matches the code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SchemaCheck:
    """What the check found; ``ran`` is False when docket-api is not installed here."""

    ran: bool
    exit_code: int
    output: str


def docket_api_script() -> str | None:
    """The docket-api console script beside this interpreter, else on PATH, else None."""
    beside = Path(sys.executable).parent / "docket-api"
    if os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("docket-api")


def migration_status(database_url: str) -> SchemaCheck:
    """Run `docket-api migrate --status` against ``database_url``."""
    script = docket_api_script()
    if script is None:
        return SchemaCheck(False, 0, "")
    result = subprocess.run(
        [script, "migrate", "--status"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return SchemaCheck(True, result.returncode, (result.stdout + result.stderr).strip())


def summarise(check: SchemaCheck, schema_version: int) -> tuple[str, int]:
    """What to tell the operator after a restore, and the exit code: 4 if the schema check failed."""
    if not check.ran:
        return (
            f"schema version {schema_version}; docket-api is not installed here, "
            "so the migration status check was skipped",
            0,
        )
    report = f"docket-api migrate --status (exit {check.exit_code}):\n{check.output}"
    if check.exit_code == 0:
        return report, 0
    if check.exit_code == 3:
        return (
            report + "\nthe schema is older than this release: `docket-api migrate` brings it up to date",
            0,
        )
    return report + "\nrestored, but the schema check did not pass (see above)", 4
