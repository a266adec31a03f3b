"""The GitHub Actions workflows: actionlint-clean, third-party actions pinned, least privilege."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(path: Path) -> dict[Any, Any]:
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def test_the_three_workflows_exist() -> None:
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "e2e.yml", "deploy.yml"}


def test_actionlint_passes() -> None:
    # actionlint also runs shellcheck over every run: block when shellcheck is on PATH (.ci/run installs it)
    actionlint = Path(sys.executable).parent / "actionlint"
    result = subprocess.run([str(actionlint), *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_commit_sha(path: Path) -> None:
    uses = re.findall(r"^\s*(?:-\s*)?uses:\s*(\S+)", path.read_text(), re.M)
    assert uses, f"{path.name} uses no actions?"
    for ref in uses:
        if ref.startswith("./"):
            continue
        assert PINNED.match(ref), f"{path.name}: {ref} is not pinned to a 40-character commit SHA"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_least_privilege_and_runs_do_not_pile_up(path: Path) -> None:
    workflow = _load(path)
    assert workflow.get("permissions") in ({"contents": "read"}, {}), "top-level permissions are read-only"
    assert "concurrency" in workflow
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", {})
        assert "write-all" not in str(granted), name
        assert job.get("timeout-minutes"), f"{path.name}:{name} has no timeout"
