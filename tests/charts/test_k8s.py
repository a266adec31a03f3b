"""k8s/: the namespace, the kind cluster, the cert-manager issuers and the development-only
PostgreSQL and Redis are consistent with the charts and with each other."""

from __future__ import annotations

import re

import chartlib
import yaml
from chartlib import CHARTS, K8S


def load(path: str) -> list[chartlib.Obj]:
    return chartlib.parse_documents((K8S / path).read_text())


def test_the_namespace_enforces_the_restricted_profile() -> None:
    (namespace,) = load("namespace.yaml")
    labels = namespace["metadata"]["labels"]
    assert namespace["metadata"]["name"] == chartlib.NAMESPACE
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_kind_maps_the_ingress_ports_to_the_host() -> None:
    (cluster,) = load("kind-cluster.yaml")
    assert cluster["kind"] == "Cluster"
    assert cluster["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    control_plane = next(node for node in cluster["nodes"] if node["role"] == "control-plane")
    ports = {m["containerPort"]: m["hostPort"] for m in control_plane["extraPortMappings"]}
    assert ports == {80: 80, 443: 443}
    assert "ingress-ready=true" in control_plane["kubeadmConfigPatches"][0]
    assert sum(node["role"] == "worker" for node in cluster["nodes"]) >= 2, "room to spread replicas"


def test_the_dev_issuer_is_the_charts_default_and_a_complete_ca_chain() -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in load("cert-manager/selfsigned-issuer.yaml")}
    default_issuer = yaml.safe_load((CHARTS / "api" / "values.yaml").read_text())["ingress"]["tls"][
        "clusterIssuer"
    ]
    issuer = objects[("ClusterIssuer", default_issuer)]
    ca = objects[("Certificate", "docket-dev-ca")]
    assert issuer["spec"]["ca"]["secretName"] == ca["spec"]["secretName"]
    assert ca["spec"]["isCA"] is True
    assert ca["metadata"]["namespace"] == "cert-manager", (
        "a ClusterIssuer reads its CA from cert-manager's namespace"
    )
    bootstrap = objects[("ClusterIssuer", ca["spec"]["issuerRef"]["name"])]
    assert bootstrap["spec"] == {"selfSigned": {}}


def test_the_acme_example_answers_http01_through_the_ingress() -> None:
    (issuer,) = load("cert-manager/acme-issuer.example.yaml")
    acme = issuer["spec"]["acme"]
    assert acme["server"].startswith("https://acme-")
    assert acme["privateKeySecretRef"]["name"]
    assert acme["solvers"][0]["http01"]["ingress"]["ingressClassName"] in ("nginx", "traefik")


def test_dev_database_and_redis_are_marked_and_match_the_charts_defaults() -> None:
    secrets = yaml.safe_load((CHARTS / "api" / "values.yaml").read_text())["secrets"]
    for path, service, port in (
        ("dev/postgres.yaml", "docket-postgres", 5432),
        ("dev/redis.yaml", "docket-redis", 6379),
    ):
        text = (K8S / path).read_text()
        assert text.startswith("# DEVELOPMENT ONLY - NOT FOR PRODUCTION."), (
            f"{path} must say it is for development"
        )
        objects = {(o["kind"], o["metadata"]["name"]): o for o in chartlib.parse_documents(text)}
        assert objects[("Service", service)]["spec"]["ports"][0]["port"] == port
        assert ("NetworkPolicy", service) in objects
    assert re.search(r"@docket-postgres:5432/", secrets["DATABASE_URL"])
    assert secrets["REDIS_URL"].startswith("redis://docket-redis:6379/")
    postgres = {o["kind"]: o for o in load("dev/postgres.yaml")}
    assert postgres["StatefulSet"]["spec"]["volumeClaimTemplates"], "PostgreSQL keeps its data on a PVC"
    assert {o["kind"] for o in load("dev/redis.yaml")} >= {"Deployment", "Service"}


def test_readme_sends_production_to_managed_or_operator_postgresql() -> None:
    readme = re.sub(r"\s+", " ", (K8S / "README.md").read_text())
    assert "Not for production" in readme
    assert "managed PostgreSQL" in readme
    assert "operator" in readme
    assert "CloudNativePG" in readme


def test_the_production_example_is_rendered_by_the_chart_tests() -> None:
    assert chartlib.CASES_BY_ID["docket-production"].values == yaml.safe_load(
        (K8S / "examples" / "values-production.yaml").read_text()
    )


def test_the_dev_database_and_redis_admit_exactly_the_pods_that_read_their_urls() -> None:
    """And the charts' default egress peers select those very pods."""
    readers = {
        "postgres": {"api", "migrate", "worker", "backup", "backup-verify"},
        "redis": {"api", "web", "worker"},
    }
    egress_peer = {"postgres": "postgresql", "redis": "redis"}
    for name, components in readers.items():
        objects = {o["kind"]: o for o in load(f"dev/{name}.yaml")}
        pod_labels = chartlib.pod_template(objects["StatefulSet" if name == "postgres" else "Deployment"])
        assert pod_labels is not None
        (rule,) = objects["NetworkPolicy"]["spec"]["ingress"]
        (peer,) = rule["from"]
        admitted = {
            component
            for component in ("api", "web", "worker", "migrate", "backup", "backup-verify")
            if chartlib.matches(
                peer["podSelector"],
                {"app.kubernetes.io/part-of": "docket", "app.kubernetes.io/component": component},
            )
        }
        assert admitted == components, f"dev/{name}.yaml admits {admitted}"
        for chart in ("api", "web", "worker"):
            egress = yaml.safe_load((CHARTS / chart / "values.yaml").read_text())["networkPolicy"]["egress"]
            if egress_peer[name] not in egress:
                assert (chart, name) == ("web", "postgres"), f"{chart} has no {egress_peer[name]} rule"
                continue
            (selector,) = egress[egress_peer[name]]["to"]
            assert chartlib.matches(selector["podSelector"], pod_labels["metadata"]["labels"]), (
                f"{chart}'s default {egress_peer[name]} peers miss dev/{name}.yaml"
            )
