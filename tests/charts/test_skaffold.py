"""skaffold.yaml: valid for skaffold/v4beta14, and every path and values file it names exists and renders."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import helm_commands
import helm_python as helm
import jsonschema
import pytest
import yaml
from chartlib import Renderer

ROOT = Path(__file__).resolve().parents[2]
SKAFFOLD = ROOT / "skaffold.yaml"
SCHEMA = Path(
    os.environ.get("SKAFFOLD_SCHEMA", ROOT.parent / "shared" / "schemas" / "skaffold-v4beta14.json")
)
DOCUMENTS: list[dict[str, Any]] = [doc for doc in yaml.safe_load_all(SKAFFOLD.read_text()) if doc]


def _apply_patches(config: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    import copy

    config = copy.deepcopy(config)
    for patch in patches:
        *parents, last = [part for part in patch["path"].split("/") if part]
        node: Any = config
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if last == "-":
            node.append(patch["value"])
        elif isinstance(node, list):
            node.insert(int(last), patch["value"])
        else:
            node[last] = patch["value"]
    return config


def test_every_document_is_valid_against_the_v4beta14_schema() -> None:
    if shutil.which("skaffold"):
        result = subprocess.run(
            ["skaffold", "diagnose", "--yaml-only"], cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return
    if not SCHEMA.exists():
        pytest.skip(f"no skaffold binary and no schema at {SCHEMA} (set SKAFFOLD_SCHEMA)")
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    for document in DOCUMENTS:
        assert document["apiVersion"] == "skaffold/v4beta14"
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_artifacts_name_existing_contexts_and_dockerfiles() -> None:
    artifacts = [a for doc in DOCUMENTS for a in doc.get("build", {}).get("artifacts", [])]
    artifacts += [
        a
        for doc in DOCUMENTS
        for p in doc.get("profiles", [])
        for a in p.get("build", {}).get("artifacts", [])
    ]
    assert {a["image"] for a in artifacts} == {"docket-api", "docket-worker", "docket-web"}
    for artifact in artifacts:
        context = ROOT / artifact.get("context", ".")
        assert context.is_dir()
        dockerfile = context / artifact["docker"]["dockerfile"]
        assert dockerfile.is_file(), artifact["image"]
        # the one Dockerfile builds every image: the artifact names its target, the stage named after it
        target = artifact["docker"].get("target")
        assert f"docket-{target}" == artifact["image"], artifact
        assert re.search(rf"^FROM\s+\S+\s+AS\s+{target}\s*$", dockerfile.read_text(), re.M | re.I), target
        for rule in artifact.get("sync", {}).get("manual", []):
            assert rule["dest"] == "/tmp/docket-src", "the only writable place with a read-only root"
            assert (ROOT / rule["strip"]).is_dir(), rule


def test_manifests_charts_and_values_files_exist() -> None:
    for document in DOCUMENTS:
        for manifest in document.get("manifests", {}).get("rawYaml", []):
            assert (ROOT / manifest).is_file(), manifest
        for profile in document.get("profiles", []):
            for patch in profile.get("patches", []):
                values = patch["value"] if isinstance(patch["value"], list) else [patch["value"]]
                for item in values:
                    if isinstance(item, str) and item.endswith((".yaml", ".yml")):
                        assert (ROOT / item).is_file(), item
        for release in document.get("deploy", {}).get("helm", {}).get("releases", []):
            assert (ROOT / release["chartPath"] / "Chart.yaml").is_file()


def test_deploy_hooks_and_skaffolds_own_dependency_build_make_the_umbrella_installable(
    tmp_path: Path,
) -> None:
    """On a fresh copy (no built dependencies), the hooks then `helm dep build charts/docket` suffice."""
    app = next(doc for doc in DOCUMENTS if doc["metadata"]["name"] == "docket")
    hooks = [hook["host"]["command"] for hook in app["deploy"]["helm"]["hooks"]["before"]]
    shutil.copytree(
        ROOT / "charts", tmp_path / "charts", ignore=shutil.ignore_patterns("charts", "Chart.lock")
    )
    for command in hooks:
        helm_commands.run(command, tmp_path)
    for chart in ("api", "web", "worker"):
        statuses = {d["status"] for d in helm.dependency_list(tmp_path / "charts" / chart)}
        assert statuses == {"ok"}, f"charts/{chart} after the hooks: {statuses}"
    release = app["deploy"]["helm"]["releases"][0]
    helm_commands.run(["helm", "dep", "build", release["chartPath"]], tmp_path)
    manifest = helm_commands.run(
        ["helm", "install", release["name"], release["chartPath"], "-n", release["namespace"]], tmp_path
    )
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in yaml.safe_load_all(manifest or "") if doc}
    assert {("Deployment", f"docket-{name}") for name in ("api", "web", "worker")} <= kinds


@pytest.mark.parametrize("profile", ["dev", "ci", "prod"])
def test_each_profile_renders_the_umbrella_chart(profile: str, renderer: Renderer) -> None:
    app = next(doc for doc in DOCUMENTS if doc["metadata"]["name"] == "docket")
    chosen = next(p for p in app["profiles"] if p["name"] == profile)
    config = _apply_patches(app, chosen.get("patches", []))
    release = config["deploy"]["helm"]["releases"][0]
    values: dict[str, Any] = {}
    for path in release.get("valuesFiles", []):
        values = helm_commands.merge(values, yaml.safe_load((ROOT / path).read_text()) or {})
    images = {}
    for key in release["setValueTemplates"]:
        service, _, field = key.split(".")
        images.setdefault(service, {}).setdefault("image", {})[field] = (
            "docket-test" if field == "repository" else "1"
        )
    values = helm_commands.merge(values, images)
    if profile == "prod":
        values = helm_commands.merge(values, {"global": {"existingSecret": "docket-secrets"}})
    rendered = renderer.render_values("docket", values)
    kinds = {
        doc["kind"]
        for path, text in rendered.items()
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    }
    assert {"Deployment", "Service", "Job"} <= kinds
