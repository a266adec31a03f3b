"""A default install never signs with a known key: the charts generate JWT_SECRET and CSRF_SECRET when
none is given, keep them across upgrades with `lookup`, and never render a development key.

`lookup` is exercised for real: the cluster-aware renders go through Helm's lookup code to a minimal
Kubernetes API server over HTTP (kubeapi.py) that holds the Secret a previous install created."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import chartlib
import kubeapi
import pytest
from chartlib import CASES, NAMESPACE, ROOT, Manifest, Renderer

SIGNING_KEYS = {"docket-api": "JWT_SECRET", "docket-web": "CSRF_SECRET"}


def development_keys() -> set[str]:
    """Every development default the services define (DEV_* constants in services/)."""
    found = set()
    for path in (ROOT / "services").glob("*/src/**/*.py"):
        found |= set(re.findall(r'^DEV_[A-Z_]+ = "([^"]+)"', path.read_text(), re.M))
    return found


def decoded(secret: Manifest) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in (secret.obj.get("data") or {}).items()}


def strings(node: Any) -> Iterator[str]:
    """Every string in a rendered object, Secret data decoded too."""
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


def signing_keys(files: dict[str, str]) -> dict[str, str]:
    secrets = {m.name: m for m in chartlib.manifests_of(files) if m.kind == "Secret"}
    return {name: decoded(secrets[name])[key] for name, key in SIGNING_KEYS.items()}


def checksums(files: dict[str, str]) -> dict[str, str]:
    return {
        m.name: m.obj["spec"]["template"]["metadata"]["annotations"]["checksum/secret"]
        for m in chartlib.manifests_of(files)
        if m.kind == "Deployment"
    }


def test_the_services_define_the_development_keys_this_test_looks_for() -> None:
    assert development_keys() >= {
        "docket-local-development-secret-do-not-use",
        "docket-web-local-development-csrf-key-do-not-use",
    }


def test_a_default_umbrella_render_generates_random_keys(renderer: Renderer) -> None:
    first, second = (signing_keys(renderer.render_values("docket", {})) for _ in range(2))
    for name, key in SIGNING_KEYS.items():
        assert len(first[name]) >= 32, f"{name} {key}"
        assert re.fullmatch(r"[A-Za-z0-9]{48}", first[name]), f"{name} {key} is not 48 random characters"
        assert first[name] != second[name], f"two renders gave {name} the same {key}"
    assert first["docket-api"] != first["docket-web"], "JWT_SECRET and CSRF_SECRET are different keys"


def test_the_pods_roll_with_the_generated_key(renderer: Renderer) -> None:
    """checksum/secret covers the generated key: the same render's Secret, not another random one."""
    files = renderer.render_values("docket", {})
    assert checksums(files) != checksums(renderer.render_values("docket", {}))
    deployment_env = {
        m.name: {e["name"]: e for e in m.obj["spec"]["template"]["spec"]["containers"][0]["env"]}
        for m in chartlib.manifests_of(files)
        if m.kind == "Deployment"
    }
    for name, key in SIGNING_KEYS.items():
        ref = deployment_env[name][key]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": name, "key": key}, "a required key, from the chart's Secret"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_no_rendered_value_is_a_development_key(renderer: Renderer, case: chartlib.Case) -> None:
    rendered = renderer.render(case)
    forbidden = development_keys()
    for manifest in rendered.manifests:
        values = set(strings(manifest.obj))
        if manifest.kind == "Secret":
            values |= set(decoded(manifest).values())
        found = values & forbidden
        assert not found, f"{case.id}: {manifest.kind}/{manifest.name} carries {found}"


def test_a_given_key_is_used_as_given(renderer: Renderer) -> None:
    given = "k" * 40
    files = renderer.render_values("docket", {"api": {"secrets": {"JWT_SECRET": given}}})
    assert signing_keys(files)["docket-api"] == given
    notes = chartlib.notes_of(files, "docket")
    assert "JWT_SECRET was generated" not in notes
    assert "CSRF_SECRET was generated" in notes


def test_an_existing_secret_is_read_and_nothing_is_generated(renderer: Renderer) -> None:
    files = renderer.render_values("docket", {"global": {"existingSecret": "docket-secrets"}})
    assert not [m for m in chartlib.manifests_of(files) if m.kind == "Secret"]
    assert "was generated" not in chartlib.notes_of(files, "docket")


def test_notes_say_where_the_generated_keys_are_and_how_to_read_them(renderer: Renderer) -> None:
    notes = chartlib.notes_of(renderer.render_values("docket", {}), "docket")
    for name, key in SIGNING_KEYS.items():
        assert f"{key} was generated at install" in notes
        assert f"kubectl -n {NAMESPACE} get secret {name} -o jsonpath='{{.data.{key}}}' | base64 -d" in notes


def stored_secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }


def test_an_upgrade_keeps_the_keys_stored_in_the_cluster(renderer: Renderer) -> None:
    installed = signing_keys(renderer.render_values("docket", {}))
    cluster = kubeapi.Cluster()
    for name, key in SIGNING_KEYS.items():
        cluster.add(stored_secret(name, {key: installed[name], "REDIS_URL": "redis://docket-redis:6379/0"}))
    with kubeapi.serve(cluster, NAMESPACE) as config:
        upgrades = [renderer.render_in_cluster("docket", {}, config, upgrade=True) for _ in range(2)]
    assert signing_keys(upgrades[0]) == installed, "the upgrade signs with the installed keys"
    assert checksums(upgrades[0]) == checksums(upgrades[1]), "an unchanged upgrade does not roll the pods"
    for name in SIGNING_KEYS:
        assert f"/api/v1/namespaces/{NAMESPACE}/secrets/{name}" in cluster.requests, f"{name} was looked up"


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param({}, id="secret-without-the-key"),
        pytest.param({"JWT_SECRET": ""}, id="empty-key-of-an-older-chart"),
        pytest.param({"JWT_SECRET": "s" * 31}, id="short-key"),
        pytest.param({"JWT_SECRET": "docket-local-development-secret-do-not-use"}, id="development-key"),
    ],
)
def test_a_missing_short_or_development_stored_key_is_replaced(
    renderer: Renderer, stored: dict[str, str]
) -> None:
    cluster = kubeapi.Cluster()
    cluster.add(stored_secret("docket-api", stored))
    with kubeapi.serve(cluster, NAMESPACE) as config:
        files = renderer.render_in_cluster("api", {}, config, upgrade=True)
    key = decoded(
        next(m for m in chartlib.manifests_of(files) if m.kind == "Secret" and m.name == "docket-api")
    )
    assert re.fullmatch(r"[A-Za-z0-9]{48}", key["JWT_SECRET"]), key["JWT_SECRET"]
    assert key["JWT_SECRET"] != stored.get("JWT_SECRET")


def test_a_fresh_install_into_an_empty_cluster_generates_keys(renderer: Renderer) -> None:
    cluster = kubeapi.Cluster()
    with kubeapi.serve(cluster, NAMESPACE) as config:
        first = signing_keys(renderer.render_in_cluster("docket", {}, config))
        second = signing_keys(renderer.render_in_cluster("docket", {}, config))
    assert first["docket-api"] != second["docket-api"], "nothing stored: nothing to keep"
    assert f"/api/v1/namespaces/{NAMESPACE}/secrets/docket-api" in cluster.requests
