"""checkov (its own venv, `make checkov-env`) passes on every rendered manifest and on k8s/, with the
skipped checks listed, each with its reason, in .checkov.yaml."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import chartlib
import pytest
import yaml
from chartlib import REPORT, ROOT, Rendered

CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
CONFIG = ROOT / ".checkov.yaml"


@pytest.fixture(scope="module")
def checkov() -> Path:
    """checkov from its hashed pins; installs it on first use (idempotent, about a minute)."""
    subprocess.run(["make", "-s", "checkov-env"], cwd=ROOT, check=True, timeout=900)
    assert CHECKOV.exists()
    return CHECKOV


def skipped_checks() -> dict[str, str]:
    """The checks .checkov.yaml skips, with the reason written on each entry's line."""
    reasons: dict[str, str] = {}
    for line in CONFIG.read_text().splitlines():
        match = re.match(r"^\s*-\s*(CKV2?_[A-Z0-9_]+)\s*(?:#\s*(.*))?$", line)
        if match:
            reasons[match[1]] = (match[2] or "").strip()
    return reasons


def test_every_skipped_check_has_a_reason() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    reasons = skipped_checks()
    assert set(config["skip-check"]) == set(reasons)
    for check, reason in reasons.items():
        assert len(reason) > 40, f"{check} is skipped without a reason"
    assert config["framework"] == ["kubernetes"]


@pytest.mark.timeout(900)
def test_checkov_passes_on_the_rendered_charts_and_k8s(
    checkov: Path, all_rendered: list[Rendered], tmp_path: Path
) -> None:
    for rendered in all_rendered:
        objects = [m.obj for m in rendered.manifests]
        (tmp_path / f"{rendered.case.id}.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    for index, (path, obj) in enumerate(chartlib.k8s_manifests()):
        (tmp_path / f"k8s-{index:02d}-{path.stem}.yaml").write_text(yaml.safe_dump(obj, sort_keys=False))
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(
        [str(checkov), "--config-file", str(CONFIG), "-d", str(tmp_path), "-o", "json", "--compact"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert result.stdout.strip(), f"checkov printed no report: {result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = {"passed": 0, "failed": 0, "skipped": 0, "resource_count": 0, "parsing_errors": 0}
    failed: list[str] = []
    for part in reports:
        for key in summary:
            summary[key] += part["summary"].get(key, 0)
        failed += [
            f"{c['check_id']} {c['check_name']}: {c['resource']} in {Path(c['file_path']).name}"
            for c in part["results"]["failed_checks"]
        ]
    REPORT.checkov = {
        "version": reports[0]["summary"].get("checkov_version", "?"),
        "passed": summary["passed"],
        "failed": summary["failed"],
        "skipped": summary["skipped"],
        "resources": summary["resource_count"],
        "config_skips": ", ".join(sorted(skipped_checks())),
    }
    assert not failed, "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 100
    assert summary["passed"] > 1000
    assert result.returncode == 0, result.stderr[-2000:]
