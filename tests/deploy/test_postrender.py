"""The deploy's Helm post-renderer, run as Helm runs it, over the umbrella chart rendered by real Helm with
the values and --set flags `scripts/deploy.py` passes: every Docket container ends up pinned to a digest."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml
from deploylib import helm
from deploylib.environments import ROOT, load_environment
from deploylib.postrender import pin_images

# the chart tests' helpers build the charts' file:// dependencies (as their conftest does, both paths)
sys.path.insert(0, str(ROOT / "tests" / "charts"))
sys.path.insert(0, str(ROOT / "charts" / "tools"))

import chartlib

ENV = load_environment("production").with_registry("ghcr.io/acme")
TAG = "1.4.0"
PINS = {
    ENV.image(service, TAG): f"{ENV.image(service, TAG)}@sha256:{digit * 64}"
    for service, digit in (("api", "1"), ("worker", "2"), ("web", "3"))
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _deploy_values(command: list[str]) -> dict[str, Any]:
    """The values `helm upgrade` would merge: the --values files, then --set-string and --set-json."""
    values: dict[str, Any] = {}
    for flag, argument in itertools.pairwise(command):
        if flag == "--values":
            values = _merge(values, yaml.safe_load((ROOT / argument).read_text()) or {})
        elif flag == "--set-string":
            values = _merge(values, helm_python.parse_set_string(argument))
        elif flag == "--set-json":
            values = _merge(values, helm_python.parse_set_json(argument))
    return values


def _containers(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = obj.get("spec", {})
    if obj.get("kind") == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec.get("template", {}).get("spec", {})
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The umbrella chart with the production environment's values, as one stream like Helm's."""
    root = chartlib.prepare_charts(tmp_path_factory.mktemp("charts"))
    values = _deploy_values(helm.upgrade_command(ENV, TAG, PINS))
    files = helm_python.Chart.load(root / "docket").render(values, name=ENV.release, namespace=ENV.namespace)
    return "".join(
        f"---\n# Source: {path}\n{text}\n" for path, text in sorted(files.items()) if path.endswith(".yaml")
    )


def _post_render(manifests: str, pins: dict[str, str]) -> subprocess.CompletedProcess[str]:
    renderer = helm.upgrade_command(ENV, TAG, pins)
    program = renderer[renderer.index("--post-renderer") + 1]
    arguments = [renderer[i + 1] for i, arg in enumerate(renderer) if arg == "--post-renderer-args"]
    return subprocess.run(
        [program, *arguments], input=manifests, capture_output=True, text=True, check=False, timeout=60
    )


def test_every_docket_container_runs_the_pinned_digest_and_nothing_else_changes(rendered: str) -> None:
    result = _post_render(rendered, PINS)
    assert result.returncode == 0, result.stderr
    before = [doc for doc in yaml.safe_load_all(rendered) if doc]
    after = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(after) == len(before)
    images = set()
    for original, pinned in zip(before, after, strict=True):
        for container in _containers(original):
            container["image"] = PINS.get(container["image"], container["image"])
        name = f"{pinned.get('kind')}/{pinned['metadata']['name']}"
        assert pinned == original, f"{name} changed beyond its images"
        if pinned.get("kind") in WORKLOADS:
            images |= {container["image"] for container in _containers(pinned)}
    assert images == set(PINS.values()), "each of the three images runs, and only by digest"


def test_a_reference_no_manifest_uses_stops_the_deploy(rendered: str) -> None:
    search = "ghcr.io/acme/docket-search:1.4.0"
    stray = {**PINS, search: f"{search}@sha256:{'4' * 64}"}
    result = _post_render(rendered, stray)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no manifest uses ghcr.io/acme/docket-search:1.4.0" in result.stderr


@pytest.mark.parametrize("argument", ["not json", '["a list"]', '{"ref": 1}'])
def test_a_malformed_argument_is_refused_with_one_line(argument: str) -> None:
    script = helm.POST_RENDERER
    result = subprocess.run(
        [sys.executable, str(script), argument], input="", capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_quoted_list_and_crlf_image_lines_are_pinned_and_others_left_alone() -> None:
    ref, pinned = next(iter(PINS.items()))
    text = (
        f'image: "{ref}"\r\n'
        f"  - image: {ref}\n"
        f"    image: '{ref}'  \n"
        f"image: {ref}-other\n"
        f"# image: {ref}\n"
        f"args: [image: {ref}]\n"
    )
    output, used = pin_images(text, {ref: pinned})
    assert used == {ref}
    assert output.splitlines(keepends=True) == [
        f'image: "{pinned}"\r\n',
        f"  - image: {pinned}\n",
        f"    image: '{pinned}'  \n",
        f"image: {ref}-other\n",
        f"# image: {ref}\n",
        f"args: [image: {ref}]\n",
    ]


def test_the_pins_are_passed_to_helm_as_one_json_argument() -> None:
    command = helm.upgrade_command(ENV, TAG, PINS)
    arguments = [command[i + 1] for i, arg in enumerate(command) if arg == "--post-renderer-args"]
    assert arguments == [str(helm.POST_RENDERER), json.dumps(PINS, sort_keys=True)]
    assert Path(arguments[0]).is_file()
