"""The rehearsal's fixtures: one release installed per module, opt-in, with its figures reported.

Rehearsal tests are opt-in: REHEARSE=all runs every scenario (`make rehearse`), REHEARSE=ci the ones
marked ``rehearsal(ci=True)`` (`.ci/run`); without it they are skipped. They need a Docker engine,
Debian's nginx with its stream module, and the images docket-{api,worker,web}:$DOCKET_IMAGE_TAG.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.cluster import Cluster
from harness.edge import NGINX, STREAM_MODULE
from harness.figures import FIGURES
from harness.render import IMAGE_TAG as TAG

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mode = os.environ.get("REHEARSE", "")
    for item in items:
        marker = item.get_closest_marker("rehearsal")
        if marker is None:
            continue
        if mode not in ("ci", "all"):
            item.add_marker(
                pytest.mark.skip(reason="rehearsal: opt in with REHEARSE=ci or REHEARSE=all (make rehearse)")
            )
        elif mode == "ci" and not marker.kwargs.get("ci"):
            item.add_marker(
                pytest.mark.skip(reason="rehearsal: not in the CI subset (make rehearse runs it)")
            )


def _missing() -> str | None:
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode:
        return "no Docker engine answers (../shared/tools/docker-up.sh starts one)"
    if not (Path(NGINX).exists() and Path(STREAM_MODULE).exists()):
        return "no nginx with its stream module (apt-get install nginx libnginx-mod-stream)"
    for service in ("api", "worker", "web"):
        image = f"docket-{service}:{TAG}"
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode:
            return f"no image {image} (make images IMAGE_TAG={TAG})"
    return None


@pytest.fixture(scope="session")
def requirements() -> None:
    if why := _missing():
        pytest.fail(f"rehearsal opted in, but {why}") if os.environ.get("CI") else pytest.skip(why)


@pytest.fixture(scope="module")
def cluster(requirements: None) -> Iterator[Cluster]:
    """The umbrella chart installed from tests/rehearsal/values.yaml, every pod ready."""
    release = Cluster({"global": {"image": {"tag": TAG}}})
    try:
        release.install()
        yield release
    finally:
        release.teardown()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.write_sep("-", "rehearsal figures")
    for scenario, figures in FIGURES.items():
        terminalreporter.write_line(f"{scenario}: {json.dumps(figures, sort_keys=True)}")
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "rehearsal.json").write_text(json.dumps(FIGURES, indent=2, sort_keys=True))
