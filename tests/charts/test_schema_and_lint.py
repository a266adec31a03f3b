"""helm lint --strict passes on every chart, and each values.schema.json rejects bad values with a
message that names the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chartlib
import helm_python as helm
import pytest
from chartlib import ALL_CHARTS, PACKAGED_CHARTS, REPORT, Renderer

LINT_KUBE_VERSIONS = ("v1.30.0", "v1.34.0")
SEVERITY = {0: "unknown", 1: "info", 2: "warning", 3: "error"}


@pytest.mark.parametrize("kube_version", LINT_KUBE_VERSIONS)
@pytest.mark.parametrize("chart", PACKAGED_CHARTS)
def test_helm_lint_strict_passes(chart_root: Path, chart: str, kube_version: str) -> None:
    result = helm.lint(
        chart_root / chart,
        strict=True,
        namespace=chartlib.NAMESPACE,
        kube_version=kube_version,
        with_subcharts=chart == "docket",
    )
    messages = [
        f"[{SEVERITY.get(m['severity'], m['severity'])}] {m['path']}: {m['error']}"
        for m in result["messages"]
    ]
    REPORT.lint[chart].extend(messages)
    assert not result["errors"], result["errors"]
    assert all(m["severity"] < 2 for m in result["messages"]), messages
    assert result["total_charts_linted"] >= 1


@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_lint_fails_on_bad_values(chart_root: Path, chart: str) -> None:
    """Lint validates values against the schema too, so the strict lint is not vacuous."""
    bad = {"replicaCount": "two"} if chart != "docket" else {"monitoring": {"dashbaord": {}}}
    result = helm.lint(chart_root / chart, bad, strict=True)
    assert result["errors"] or any(m["severity"] >= 2 for m in result["messages"])


BAD_VALUES: list[tuple[str, dict[str, Any], str]] = [
    ("api", {"config": {"LOG_LEVLE": "DEBUG"}}, "LOG_LEVLE"),
    ("api", {"config": {"LOG_LEVEL": "LOUD"}}, "/config/LOG_LEVEL"),
    ("api", {"config": {"PORT": 80}}, "/config/PORT"),
    ("api", {"replicaCount": "two"}, "/replicaCount"),
    ("api", {"imagee": {"tag": "1.0"}}, "imagee"),
    ("web", {"image": {"tag": "latest"}}, "/image/tag"),
    ("worker", {"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    ("api", {"podSecurityContext": {"runAsNonRoot": False}}, "/podSecurityContext/runAsNonRoot"),
    ("web", {"containerSecurityContext": {"allowPrivilegeEscalation": True}}, "allowPrivilegeEscalation"),
    ("worker", {"containerSecurityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
    (
        "api",
        {"containerSecurityContext": {"capabilities": {"drop": ["NET_RAW"]}}},
        "/containerSecurityContext/capabilities/drop",
    ),
    ("api", {"containerSecurityContext": {"privileged": True}}, "/containerSecurityContext/privileged"),
    (
        "web",
        {"podSecurityContext": {"seccompProfile": {"type": "Unconfined"}}},
        "/podSecurityContext/seccompProfile/type",
    ),
    ("api", {"resources": {"limits": {"memory": None}}}, "/resources/limits"),
    ("worker", {"resources": {"requests": {"cpu": "lots"}}}, "/resources/requests/cpu"),
    ("api", {"livenessProbe": {"path": "/readyz"}}, "path"),
    ("api", {"livenessProbe": {"successThreshold": 2}}, "/livenessProbe/successThreshold"),
    ("api", {"autoscaling": {"enabled": "yes"}}, "/autoscaling/enabled"),
    ("web", {"pdb": {"maxUnavailable": "half"}}, "/pdb/maxUnavailable"),
    ("api", {"ingress": {"controller": "haproxy"}}, "/ingress/controller"),
    ("web", {"ingress": {"rateLimit": {"requestsPerSecond": 0}}}, "/ingress/rateLimit/requestsPerSecond"),
    ("api", {"ingress": {"host": "Docket_Example"}}, "/ingress/host"),
    ("api", {"networkPolicy": {"egress": {"postgres": {"enabled": True}}}}, "postgres"),
    ("web", {"config": {"API_URL": "docket-api:8000"}}, "/config/API_URL"),
    ("worker", {"config": {"WORKER_CONCURRENCY": 0}}, "/config/WORKER_CONCURRENCY"),
    ("worker", {"backup": {"schedule": "nightly"}}, "/backup/schedule"),
    ("worker", {"backup": {"destination": "s3"}}, "destination"),
    ("worker", {"backup": {"s3": {"url": "https://bucket"}}}, "/backup/s3/url"),
    ("worker", {"backup": {"config": {"BACKUP_RETENTION_DAYS": 0}}}, "/backup/config/BACKUP_RETENTION_DAYS"),
    ("api", {"migration": {"backofLimit": 2}}, "backofLimit"),
    ("api", {"secrets": {"DATABASE_PASSWORD": "x"}}, "DATABASE_PASSWORD"),
    ("worker", {"common": {"nameOverride": "x"}}, "nameOverride"),
    ("web", {"secrets": {"JWT_SECRET": "not the web's"}}, "JWT_SECRET"),
    ("docket", {"global": {"environment": "prod"}}, "/global/environment"),
    ("docket", {"global": {"ingress": {"controller": "haproxy"}}}, "/global/ingress/controller"),
    ("docket", {"monitoring": {"prometheusRule": {"enable": True}}}, "enable"),
    ("docket", {"monitoring": {"prometheusRule": {"thresholds": {"errorRatio": 5}}}}, "errorRatio"),
    ("docket", {"api": {"replicas": 3}}, "replicas"),
    ("docket", {"common": {"image": {"tag": "1"}}}, "image"),
    ("docket", {"worker": {"backup": {"schedule": "nightly"}}}, "/backup/schedule"),
]


@pytest.mark.parametrize(
    ("chart", "values", "field"), BAD_VALUES, ids=[f"{c}:{f.strip('/')}" for c, _, f in BAD_VALUES]
)
def test_schema_rejects_bad_values_naming_the_field(
    renderer: Renderer, chart: str, values: dict[str, Any], field: str
) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        renderer.chart(chart).validate_schema(values)
    message = str(caught.value)
    assert field in message, message
    # the same values fail the install path (helm install / template validates before rendering)
    with pytest.raises(helm.HelmValuesError) as rendered:
        renderer.render_values(chart, values)
    assert field in str(rendered.value)
    REPORT.schema_rejections.append(f"{chart}: {field}")


@pytest.mark.parametrize("case", chartlib.CASES, ids=lambda c: c.id)
def test_matrix_values_pass_the_schema(renderer: Renderer, case: chartlib.Case) -> None:
    renderer.chart(case.chart).validate_schema(case.values)


@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_schema_closes_every_object_it_describes(renderer: Renderer, chart: str) -> None:
    """Typos are caught wherever the chart knows the keys: every described object is closed."""
    schema = renderer.chart(chart).schema
    assert schema is not None

    def visit(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and path not in OPEN_OBJECTS:
                assert node.get("additionalProperties") is False, f"{chart}: {path or '<root>'} is open"
            for key, value in (node.get("properties") or {}).items():
                visit(value, f"{path}.{key}" if path else key)
            for key in ("anyOf", "oneOf", "allOf"):
                for sub in node.get(key) or []:
                    visit(sub, path)

    visit(schema, "")


# objects whose keys belong to the sub-charts (checked by their own schemas), and postgresql.conf,
# whose settings PostgreSQL checks (the schema requires max_connections, which the budget reads)
OPEN_OBJECTS = {"api", "web", "worker", "postgresql.cnpg.parameters"}
