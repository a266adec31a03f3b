"""The Dockerfile lints clean, builds every image as a target, and says why it suppresses a finding.

No Docker engine needed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "Dockerfile"]
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


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
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


def _stages() -> dict[str, str]:
    """The Dockerfile's stages by name, each with its FROM line and instructions (comments left out)."""
    lines = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if not line.startswith("#")]
    parts = re.split(r"^(?=FROM\s)", "\n".join(lines), flags=re.M)[1:]
    return {re.split(r"\s+", part.splitlines()[0])[3]: part for part in parts}


@pytest.mark.parametrize("service", ["api", "worker", "web"])
def test_each_service_is_a_target_of_the_one_dockerfile_on_the_shared_stages(service: str) -> None:
    # one Dockerfile, one target per service (`make images`, skaffold and CI build `--target <service>`):
    # the venv is made by the builder's shared scripts, and the image is the shared runtime stage plus
    # that venv, the service's ports and its entrypoint
    stages = _stages()
    target = stages[service]
    assert target.startswith("FROM runtime AS "), target.splitlines()[0]
    venv = stages[f"{service}-venv"]
    assert venv.startswith("FROM builder AS "), venv.splitlines()[0]
    assert re.search(rf"^\s*venv-deps {service}\b", venv, re.M), f"{service}-venv does not run venv-deps"
    assert re.search(rf"^RUN venv-app {service}$", venv, re.M), f"{service}-venv does not run venv-app"
    # the workspace source arrives after the dependencies are installed, so editing it reuses their layer
    assert "COPY services/" not in stages["builder"]
    assert venv.index("venv-deps") < venv.index("COPY services/core") < venv.index("RUN venv-app")
    assert f"COPY --from={service}-venv /opt/venv /opt/venv" in target
    assert f'"/opt/venv/bin/docket-{service}"]' in target
    assert f'org.opencontainers.image.title="docket-{service}"' in target
    assert "HEALTHCHECK" in stages["runtime"]
    users = re.findall(r"^USER\s+(\S+)", stages["runtime"] + target, re.M)
    assert users[-1] == "10001:10001", users
    # the per-commit label args belong to the target, after its last RUN: a build arg of the runtime stage
    # would reach the cache key of every RUN built on it (the worker's apt step) and re-run it per commit
    assert "REVISION" not in stages["runtime"]
    assert re.search(r"^ARG\s.*\bREVISION=", target.rsplit("\nRUN ", 1)[-1], re.M)
