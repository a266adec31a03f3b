"""OPERATIONS.md's install from a clone works as written: its commands, parsed out of the guide, run
on a fresh `git clone` (no built dependencies) and install the umbrella (a client-side dry run of
Helm's install action); its install from the OCI chart names the package `make charts` builds."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import helm_commands
import helm_python as helm
import pytest
import yaml
from chartlib import ROOT, SERVICE_CHARTS

pytestmark = pytest.mark.timeout(300)


def guide_block(guide: str, name: str) -> str:
    """The shell block of OPERATIONS.md between <!-- name:start --> and <!-- name:end -->."""
    found = re.search(rf"<!-- {name}:start -->\s*```sh\n(.*?)```\s*<!-- {name}:end -->", guide, re.DOTALL)
    assert found, f"OPERATIONS.md has no sh block between the {name} markers"
    return found[1]


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """A clone of this checkout's HEAD: only what git tracks, nothing built."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    if head.returncode != 0:
        pytest.skip("not a git checkout: the guide is tested on a clone of one")
    clone = tmp_path / "docket"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", head.stdout.strip()], check=True)
    return clone


def objects(manifest: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(manifest) if d}


def test_the_install_from_a_clone_works_as_the_guide_writes_it(fresh_clone: Path) -> None:
    commands = helm_commands.split_commands(
        guide_block((fresh_clone / "OPERATIONS.md").read_text(), "install-from-clone")
    )
    *steps, install = commands
    assert steps, "the guide installs without the dependency step"
    # the guide's install alone fails on a fresh clone: the dependency steps are what make it work
    with pytest.raises(helm.HelmChartInvalidError, match="dependencies are missing"):
        helm_commands.run(install, fresh_clone)
    for step in steps:
        assert helm_commands.run(step, fresh_clone) is None, f"only the last command installs: {step}"
    # Helm checks only the umbrella's own dependencies at install; the guide builds the whole tree
    for chart in (*SERVICE_CHARTS, "docket"):
        statuses = {d["name"]: d["status"] for d in helm.dependency_list(fresh_clone / "charts" / chart)}
        assert set(statuses.values()) == {"ok"}, f"charts/{chart} after the guide's steps: {statuses}"
    rendered = objects(helm_commands.run(install, fresh_clone) or "")
    tag = helm_commands.parse_install(install).set[-1].rpartition("=")[2]
    for chart in SERVICE_CHARTS:
        container = rendered[("Deployment", f"docket-{chart}")]["spec"]["template"]["spec"]["containers"][0]
        assert container["image"].endswith(f"/docket-{chart}:{tag}")
        assert ("ConfigMap", f"docket-{chart}") in rendered
    assert not [k for k in rendered if k[0] == "Secret"], "production takes the existing Secret"


def test_the_install_from_the_oci_chart_names_the_package_make_charts_builds() -> None:
    (command,) = helm_commands.split_commands(
        guide_block((ROOT / "OPERATIONS.md").read_text(), "install-from-oci")
    )
    options = helm_commands.parse_install(command)
    assert re.fullmatch(r"oci://ghcr\.io/<owner>/charts/docket", options.chart), options.chart
    assert options.version, "an OCI install names the chart version"
    values: dict[str, Any] = {}
    for expression in options.set:
        values = helm_commands.merge(values, helm.parse_set_string(expression))
    assert values["global"]["image"]["registry"] == "ghcr.io/<owner>", "charts and images share a registry"
    assert values["global"]["image"]["tag"] == options.version
