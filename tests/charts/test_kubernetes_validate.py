"""Every rendered object and every object under k8s/ is valid for Kubernetes 1.30 to 1.34 with
kubernetes-validate's strict schemas (unknown fields are errors). Custom resources, whose CRD
schemas cannot be fetched here, are checked against field schemas of the fields they use."""

from __future__ import annotations

import copy

import chartlib
import kubernetes_validate
import pytest
from chartlib import KUBE_VERSIONS, REPORT, Obj, Rendered

CUSTOM_KINDS = {key[1] for key in chartlib.CRD_FIELD_SCHEMAS}


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
            if obj["kind"] not in CUSTOM_KINDS:
                failures.append(f"{name}: no Kubernetes {version} schema for {obj['apiVersion']}")
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
        if key in seen or obj["kind"] in CUSTOM_KINDS:
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


def test_custom_resources_match_their_field_schemas(objects: list[Obj]) -> None:
    failures: list[str] = []
    for obj in objects:
        if obj["kind"] not in CUSTOM_KINDS:
            continue
        errors = chartlib.crd_errors(obj)
        assert errors is not None, f"{obj['apiVersion']} {obj['kind']} has no field schema"
        REPORT.crd_checked[obj["kind"]] += 1
        failures.extend(f"{obj['kind']}/{obj['metadata']['name']}: {e}" for e in errors)
    assert not failures, "\n".join(failures)
    assert set(REPORT.crd_checked) == CUSTOM_KINDS, "every custom kind was rendered by some case"


def test_field_schemas_reject_what_the_crds_reject() -> None:
    middleware = {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "Middleware",
        "metadata": {"name": "x", "namespace": "docket"},
        "spec": {"rateLimit": {"average": "10", "burst": 20}},
    }
    assert chartlib.crd_errors(middleware), "average is an integer"
    middleware["spec"] = {"rateLimit": {"average": 10}, "headers": {"stsSeconds": 1}}
    assert chartlib.crd_errors(middleware), "a Middleware holds one middleware"
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "x", "namespace": "docket"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "for": "five"}]}]},
    }
    assert chartlib.crd_errors(rule), "for is a duration"


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
