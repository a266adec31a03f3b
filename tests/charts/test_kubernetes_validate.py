"""Every rendered object and every object under k8s/ is valid for Kubernetes 1.30 to 1.34 with
kubernetes-validate's strict schemas (unknown fields are errors). Custom resources are validated
against their upstream CRDs' schemas (../shared/schemas/crds, strict too); a kind that has neither
schema fails rather than passing unchecked."""

from __future__ import annotations

import copy
from typing import Any

import chartlib
import kubernetes_validate
import pytest
from chartlib import KUBE_VERSIONS, REPORT, Obj, Rendered

# Every custom resource kind the charts and k8s/ produce; each has a CRD schema, so no kind is allowlisted.
CUSTOM_KINDS = {
    "Certificate",
    "Cluster",
    "ClusterIssuer",
    "ExternalSecret",
    "Middleware",
    "ObjectStore",
    "PodMonitor",
    "Pooler",
    "PrometheusRule",
    "ScheduledBackup",
    "ServiceMonitor",
}


def is_custom(obj: Obj) -> bool:
    """Not a built-in kind: kubernetes-validate has no schema for it in any version."""
    return chartlib.kube_errors(obj, KUBE_VERSIONS[-1]) is None


@pytest.fixture(scope="module")
def objects(all_rendered: list[Rendered]) -> list[Obj]:
    rendered = [m.obj for r in all_rendered for m in r.manifests]
    return chartlib.unique(rendered + [obj for _, obj in chartlib.k8s_manifests()])


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_every_object_is_valid_for_kubernetes(objects: list[Obj], version: str) -> None:
    failures: list[str] = []
    validated = 0
    for obj in objects:
        errors = chartlib.kube_errors(obj, version)
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if errors is None:
            if chartlib.crd_validator(obj["apiVersion"], obj["kind"]) is None:
                failures.append(
                    f"{name}: neither Kubernetes {version} nor a CRD schema for {obj['apiVersion']}"
                )
            continue
        validated += 1
        failures.extend(f"{name}: {error}" for error in errors)
    REPORT.validated[version] = validated
    assert not failures, "\n".join(failures)
    assert validated > 50


def test_the_cached_validator_agrees_with_kubernetes_validate(objects: list[Obj]) -> None:
    """The compiled validators are kubernetes-validate's own schemas: compare on one object of each kind."""
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"])
        if key in seen or is_custom(obj):
            continue
        seen.add(key)
        for version in (KUBE_VERSIONS[0], KUBE_VERSIONS[-1]):
            assert kubernetes_validate.validate(obj, version, strict=True)
            assert chartlib.kube_errors(obj, version) == []
    assert len(seen) >= 12


def test_strict_validation_catches_an_unknown_field(objects: list[Obj]) -> None:
    deployment = copy.deepcopy(next(o for o in objects if o["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    for version in KUBE_VERSIONS:
        errors = chartlib.kube_errors(deployment, version)
        assert errors
        assert any("livenessProbes" in e for e in errors)
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(deployment, version, strict=True)


def test_custom_resources_match_their_crd_schemas(objects: list[Obj]) -> None:
    failures: list[str] = []
    for obj in objects:
        if not is_custom(obj):
            continue
        errors = chartlib.crd_errors(obj)
        if errors is None:
            failures.append(f"{obj['apiVersion']} {obj['kind']}: no CRD schema in {chartlib.CRD_SCHEMAS}")
            continue
        REPORT.crd_checked[obj["kind"]] += 1
        if obj["kind"] == "Middleware" and len(obj["spec"]) != 1:
            failures.append(f"Middleware/{obj['metadata']['name']}: Traefik takes one middleware per object")
        failures.extend(f"{obj['kind']}/{obj['metadata']['name']}: {e}" for e in errors)
    assert not failures, "\n".join(failures)
    assert set(REPORT.crd_checked) == CUSTOM_KINDS, "every custom kind was rendered by some case"


def _misspelt(word: str) -> str:
    return word[:-1] if len(word) > 3 else word + "x"


def test_a_typo_in_any_custom_resource_fails_its_crd_schema(objects: list[Obj]) -> None:
    """Strict: a misspelt field is an error at the top of the spec, and deeper down in every object."""
    checked: set[str] = set()
    for obj in objects:
        if not is_custom(obj) or obj["kind"] in checked:
            continue
        checked.add(obj["kind"])
        assert chartlib.crd_errors(obj) == [], f"{obj['kind']} is valid before the typo"
        spec = obj.get("spec") or {}
        first = next(iter(spec))
        planted = copy.deepcopy(obj)
        planted["spec"][_misspelt(first)] = planted["spec"].pop(first)
        errors = chartlib.crd_errors(planted)
        assert errors, f"{obj['kind']}: spec.{_misspelt(first)} passed"
        assert any(_misspelt(first) in e for e in errors), errors
        nested = copy.deepcopy(obj)
        node: Any = nested["spec"][first]
        while isinstance(node, list) and node:
            node = node[0]
        if isinstance(node, dict) and node:
            key = next(iter(node))
            node[_misspelt(key)] = node.pop(key)
            assert chartlib.crd_errors(nested), f"{obj['kind']}: spec.{first}.{_misspelt(key)} passed"
    assert checked == CUSTOM_KINDS


def test_an_unknown_custom_kind_has_no_schema_and_fails() -> None:
    """A kind without a CRD schema (or a version the CRD does not serve) is reported, never passed."""
    assert chartlib.crd_validator("postgresql.cnpg.io/v1", "Clustre") is None
    assert chartlib.crd_validator("external-secrets.io/v1beta1", "ExternalSecret") is None, "not served"
    assert chartlib.crd_validator("example.com/v1", "Widget") is None
    assert chartlib.kube_errors({"apiVersion": "example.com/v1", "kind": "Widget"}, KUBE_VERSIONS[-1]) is None


def test_crd_schemas_reject_what_the_api_server_rejects() -> None:
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "x", "namespace": "docket"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "for": "five"}]}]},
    }
    assert chartlib.crd_errors(rule), "for is a duration"
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "x", "namespace": "docket"},
        "spec": {"selector": {}, "endpoints": [{"port": "management", "scheme": "gopher"}]},
    }
    assert chartlib.crd_errors(monitor), "scheme is http or https"
    certificate = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "x", "namespace": "docket"},
        "spec": {"secretName": "x"},
    }
    assert chartlib.crd_errors(certificate), "issuerRef is required"


def test_alert_expressions_are_balanced_and_use_docket_metrics(objects: list[Obj]) -> None:
    """No promtool here: check the expressions' shape and the metric names the services export."""
    rules = [
        rule
        for obj in objects
        if obj["kind"] == "PrometheusRule"
        for group in obj["spec"]["groups"]
        for rule in group["rules"]
    ]
    assert rules
    alerts = {rule["alert"]: rule["expr"] for rule in rules}
    for name, expr in alerts.items():
        for open_, close in ("()", "{}", "[]"):
            assert expr.count(open_) == expr.count(close), f"{name}: unbalanced {open_}{close}"
        assert expr.count('"') % 2 == 0, f"{name}: unbalanced quotes"
    expected = {
        "DocketPodNotReady": "kube_pod_status_ready",
        "DocketHighErrorRate": "docket_http_requests_total",
        "DocketQueueBacklog": "docket_jobs_oldest_pending_seconds",
        "DocketBackupFailed": "kube_job_status_failed",
        "DocketBackupTooOld": "kube_cronjob_status_last_successful_time",
        "DocketDbPoolSaturated": "docket_db_pool_in_use{",
        "DocketDbPoolWaiting": "docket_db_pool_waiting",
    }
    for alert, metric in expected.items():
        assert metric in alerts[alert], f"{alert} does not use {metric}"
    assert "/ docket_db_pool_size{" in alerts["DocketDbPoolSaturated"], "saturation is in use over size"
