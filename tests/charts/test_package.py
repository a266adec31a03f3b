"""`make charts` packages every chart, the library too, with its dependencies, at the versions it is
given, without touching the files in git; the umbrella package installs from the .tgz alone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import helm_commands
import helm_python as helm
import pytest
import yaml
from chartlib import CHARTS, PACKAGED_CHARTS, ROOT, SERVICE_CHARTS

pytestmark = pytest.mark.timeout(300)


def make_charts(destination: Path, *variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "charts", f"CHARTS_DIST={destination}", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--", "charts"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def shown(archive: Path) -> dict[str, Any]:
    """`helm show chart` of a package."""
    return yaml.safe_load(helm.show(str(archive), output_format="chart"))  # type: ignore[no-any-return]


def objects(manifest: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(manifest) if d}


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/charts of `make charts CHART_VERSION=1.2.3 APP_VERSION=1.2.3`, into a scratch directory."""
    destination = tmp_path_factory.mktemp("dist") / "charts"
    destination.mkdir()
    (destination / "docket-0.0.9.tgz").write_text("a package of an earlier release")
    before = git_status()
    result = make_charts(destination, "CHART_VERSION=1.2.3", "APP_VERSION=1.2.3")
    assert result.returncode == 0, result.stderr
    assert git_status() == before, "make charts changed files in git"
    return destination


def test_every_chart_is_packaged_at_the_given_version_and_nothing_else(released: Path) -> None:
    assert sorted(p.name for p in released.iterdir()) == sorted(f"{c}-1.2.3.tgz" for c in PACKAGED_CHARTS)
    for chart in PACKAGED_CHARTS:
        metadata = shown(released / f"{chart}-1.2.3.tgz")
        assert (metadata["name"], metadata["version"], metadata["appVersion"]) == (chart, "1.2.3", "1.2.3")
        for dependency in metadata.get("dependencies") or []:
            assert dependency["version"] == "1.2.3", f"{chart} depends on {dependency}"
    assert shown(released / "common-1.2.3.tgz")["type"] == "library"


def test_the_umbrella_package_installs_from_the_archive_alone(released: Path, tmp_path: Path) -> None:
    shutil.copy(released / "docket-1.2.3.tgz", tmp_path)
    manifest = helm_commands.run(["helm", "install", "docket", "docket-1.2.3.tgz", "-n", "docket"], tmp_path)
    rendered = objects(manifest or "")
    for chart in SERVICE_CHARTS:
        deployment = rendered[("Deployment", f"docket-{chart}")]
        labels = deployment["metadata"]["labels"]
        assert labels["helm.sh/chart"] == f"{chart}-1.2.3"
        assert labels["app.kubernetes.io/version"] == "1.2.3"
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.endswith(f"docket-{chart}:1.2.3"), "the image tag defaults to the appVersion"


def test_without_versions_the_packages_carry_those_of_chart_yaml(tmp_path: Path) -> None:
    result = make_charts(tmp_path / "charts")
    assert result.returncode == 0, result.stderr
    for chart in PACKAGED_CHARTS:
        source = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())
        metadata = shown(tmp_path / "charts" / f"{chart}-{source['version']}.tgz")
        assert (metadata["version"], metadata["appVersion"]) == (source["version"], source["appVersion"])


@pytest.mark.parametrize("version", ["v1.2.3", "1.2", "1.2.3;rm"])
def test_a_version_helm_cannot_use_is_refused_in_one_line(tmp_path: Path, version: str) -> None:
    result = make_charts(tmp_path / "charts", f"CHART_VERSION={version}")
    assert result.returncode != 0
    assert f"chartpack: CHART_VERSION '{version}' is not a SemVer version" in result.stderr
    assert not (tmp_path / "charts").exists(), "nothing is written for a refused version"
