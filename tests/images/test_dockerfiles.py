"""The three Dockerfiles lint clean, and every suppressed finding says why. No Docker engine needed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "services" / name / "Dockerfile" for name in ("api", "worker", "web")]
HADOLINT = Path(sys.executable).parent / "hadolint"
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"


def test_hadolint_reports_nothing_at_any_level() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "style", *map(str, DOCKERFILES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_every_suppressed_lint_finding_states_its_reason(dockerfile: Path) -> None:
    lines = dockerfile.read_text().splitlines()
    for number, line in enumerate(lines):
        if match := re.match(r"#\s*hadolint ignore=(\S+)", line):
            block = []  # the comment lines right above the pragma
            for above in reversed(lines[:number]):
                if not above.startswith("#"):
                    break
                block.append(above)
            reason = " ".join(block)
            where = f"{dockerfile}:{number + 1}"
            for rule in match[1].split(","):
                assert rule in reason, f"{where}: the comment above hadolint ignore={rule} must name it"
                assert len(reason) > 40, f"{where}: hadolint ignore={rule} needs a reason above it"
        if match := re.match(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?", line):
            reason = (match[2] or "").strip()
            assert reason, f"{dockerfile}:{number + 1}: checkov skip of {match[1]} has no reason"


@pytest.mark.timeout(600)
def test_checkov_dockerfile_checks_pass() -> None:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed in .tools/checkov (`make checkov-env` installs it)")
    result = subprocess.run(
        [str(CHECKOV), "--framework", "dockerfile", "--quiet", "--output", "json",
         *[arg for path in DOCKERFILES for arg in ("-f", str(path))]],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    reports = json.loads(result.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    failed = [check for report in reports for check in report.get("results", {}).get("failed_checks", [])]
    assert sum(report.get("summary", {}).get("passed", 0) for report in reports) > 0, result.stdout[-2000:]
    assert not failed, [(c["check_id"], c["file_path"], c["check_name"]) for c in failed]
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def _recipe(service: str, port: str, management_port: str) -> list[str]:
    """The Dockerfile's instructions with the service's own name, ports and description taken out."""
    lines = (ROOT / "services" / service / "Dockerfile").read_text().splitlines()
    recipe = []
    for line in lines:
        if line.lstrip().startswith("#") or "image.description" in line:
            continue
        recipe.append(
            line.replace(service, "SERVICE").replace(port, "PORT").replace(management_port, "MANAGEMENT")
        )
    return recipe


def test_api_and_web_images_share_one_recipe() -> None:
    # Three Dockerfiles are asked for, one per service; api and web must not drift apart (the worker
    # adds the PostgreSQL client on top of the same stages).
    assert _recipe("api", "8000", "8001") == _recipe("web", "8080", "8081")
