"""What the chart tests share: the value matrix, rendering with the Helm SDK, object walkers, the
strict Kubernetes schemas, the CRD schemas of the custom resources, and the report printed at the end."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chartpack
import helm_python as helm
import jsonschema
import kubernetes_validate.utils as kv
import yaml
from helm_commands import merge
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
K8S = ROOT / "k8s"
SERVICE_CHARTS = ("api", "web", "worker")
ALL_CHARTS = (*SERVICE_CHARTS, "docket")
LIBRARY_CHARTS = ("common",)
PACKAGED_CHARTS = (*LIBRARY_CHARTS, *ALL_CHARTS)
NAMESPACE = "docket"
RELEASE = "docket"
KUBE_VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34")
UID = 10001
STANDARD_LABELS = tuple(
    f"app.kubernetes.io/{name}"
    for name in ("name", "instance", "version", "component", "part-of", "managed-by")
)
SELECTOR_LABELS = frozenset(f"app.kubernetes.io/{name}" for name in ("name", "instance", "component"))
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"})
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterIssuer", "ClusterRole", "ClusterRoleBinding"})

Obj = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# The matrix


@dataclass(frozen=True)
class Case:
    """One chart rendered with one set of values; ``external`` names objects the operator provides."""

    id: str
    chart: str
    values: dict[str, Any] = field(default_factory=dict)
    external: frozenset[str] = frozenset()
    release: str = RELEASE

    def __repr__(self) -> str:
        return self.id


PRODUCTION_VALUES: dict[str, Any] = yaml.safe_load((K8S / "examples" / "values-production.yaml").read_text())
# cnpg mode: values-production.yaml with values-production-cnpg.yaml over it, as the example installs it
CNPG_OVERLAY: dict[str, Any] = yaml.safe_load((K8S / "examples" / "values-production-cnpg.yaml").read_text())
PRODUCTION_CNPG_VALUES = merge(PRODUCTION_VALUES, CNPG_OVERLAY)
OBJECT_STORE = {
    "destinationPath": "s3://docket-backups/staging/postgresql",
    "existingSecret": "docket-backup-s3",
}
SENTINELS = ["redis-node-0.redis-headless:26379", "redis-node-1.redis-headless:26379", "10.20.1.7:26380"]
REAL_SECRETS = {
    "DATABASE_URL": "postgresql://docket:Zq8v2Lw9Xk@db.internal.example.com:5432/docket",
    "REDIS_URL": "rediss://:Zq8v2Lw9Xk@redis.internal.example.com:6380/0",
    "JWT_SECRET": "h7Kp2xQ9mV4tR8wZ3nB6yC1dF5gJ0aLs",
    "SENTRY_DSN": "https://publickey@o1.ingest.sentry.io/1",
}
WEB_SECRETS = {
    "REDIS_URL": REAL_SECRETS["REDIS_URL"],
    "CSRF_SECRET": "Vb3nT8qW1zK6xR2mP9sD4fH7jL0cG5yA",
}
EXAMPLE_HOST = {"host": "docket.example.com"}

CASES: tuple[Case, ...] = (
    Case("api-defaults", "api"),
    Case("web-defaults", "web"),
    Case("worker-defaults", "worker"),
    Case("docket-defaults", "docket"),
    Case("docket-production", "docket", PRODUCTION_VALUES, frozenset({"docket-secrets", "docket-backup-s3"})),
    Case(
        "api-production-existing-tls",
        "api",
        {
            "global": {"environment": "production"},
            "existingSecret": "docket-secrets",
            "config": {"CORS_ORIGINS": "https://docket.example.com"},
            "ingress": {**EXAMPLE_HOST, "tls": {"existingSecret": "docket-example-com-tls"}},
            "autoscaling": {"enabled": True, "minReplicas": 3},
            "pdb": {"enabled": True},
        },
        frozenset({"docket-secrets", "docket-example-com-tls"}),
    ),
    Case(
        "api-production-chart-secret",
        "api",
        {
            "global": {"environment": "production"},
            "secrets": REAL_SECRETS,
            "ingress": {**EXAMPLE_HOST, "tls": {"clusterIssuer": "letsencrypt"}},
            "networkPolicy": {
                "egress": {"sentry": {"enabled": True, "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}}
            },
        },
    ),
    Case(
        "web-production-chart-secret",
        "web",
        {
            "global": {"environment": "production"},
            "secrets": WEB_SECRETS,
            "config": {"API_URL": "http://docket-api.docket:8000"},
            "ingress": EXAMPLE_HOST,
        },
    ),
    Case("docket-nginx", "docket", {"global": {"ingress": {**EXAMPLE_HOST, "controller": "nginx"}}}),
    Case("docket-traefik", "docket", {"global": {"ingress": {**EXAMPLE_HOST, "controller": "traefik"}}}),
    Case("web-traefik", "web", {"ingress": {"controller": "traefik"}}),
    Case(
        "worker-backup-s3",
        "worker",
        {
            "backup": {
                "timeZone": "Europe/Berlin",
                "persistence": {"enabled": False},
                "s3": {
                    "url": "s3://docket-backups/staging",
                    "endpoint": "https://minio.example.com",
                    "existingSecret": "docket-backup-s3",
                    "egress": {
                        "ports": [9000],
                        "to": [
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "minio"}}}
                        ],
                    },
                },
                "verify": {"enabled": True},
            }
        },
        frozenset({"docket-backup-s3"}),
    ),
    Case(
        "worker-backup-existing-claim",
        "worker",
        {"backup": {"persistence": {"existingClaim": "docket-backups"}, "verify": {"enabled": True}}},
        frozenset({"docket-backups"}),
    ),
    Case("worker-backup-off", "worker", {"backup": {"enabled": False}}),
    Case(
        "docket-networkpolicy-off",
        "docket",
        {name: {"networkPolicy": {"enabled": False}} for name in SERVICE_CHARTS},
    ),
    Case(
        "docket-single-replica",
        "docket",
        {name: {"replicaCount": 1} for name in SERVICE_CHARTS},
    ),
    Case(
        "docket-observability",
        "docket",
        {
            **{name: {"metrics": {"serviceMonitor": {"enabled": True}}} for name in SERVICE_CHARTS},
            "monitoring": {"prometheusRule": {"enabled": True}, "dashboard": {"enabled": True}},
        },
    ),
    Case("api-standalone-release", "api", {}, release="docket-api"),
    # the CloudNativePG Cluster's "<cluster>-app" Secret is written by the operator, not the chart
    Case(
        "docket-production-cnpg",
        "docket",
        PRODUCTION_CNPG_VALUES,
        frozenset({"docket-secrets", "docket-backup-s3", "docket-postgresql-app"}),
    ),
    Case(
        "docket-cnpg",
        "docket",
        {
            "global": {"postgresql": {"mode": "cnpg"}},
            "postgresql": {"cnpg": {"backup": {"objectStore": OBJECT_STORE}}},
        },
        frozenset({"docket-backup-s3", "docket-postgresql-app"}),
    ),
    Case(
        "docket-cnpg-recovery",
        "docket",
        {
            "global": {"postgresql": {"mode": "cnpg", "cluster": "docket-pg-restored"}},
            "postgresql": {
                "cnpg": {
                    "instances": 1,
                    "affinity": {"podAntiAffinityType": "preferred"},
                    "networkPolicy": {"enabled": False},
                    "recovery": {
                        "enabled": True,
                        "sourceCluster": "docket-postgresql",
                        "targetTime": "2025-05-04T09:30:00Z",
                    },
                    "backup": {"objectStore": {**OBJECT_STORE, "endpointURL": "https://minio.example.com"}},
                }
            },
            "worker": {"backup": {"verify": {"enabled": True}}},
        },
        frozenset({"docket-backup-s3", "docket-pg-restored-app"}),
    ),
    Case(
        "worker-cnpg-standalone",
        "worker",
        {"global": {"postgresql": {"mode": "cnpg", "cluster": "shared-pg"}}},
        frozenset({"shared-pg-app"}),
    ),
    Case(
        "docket-redis-sentinel",
        "docket",
        {
            "global": {"redis": {"sentinels": SENTINELS, "sentinelMaster": "docket"}},
            # with Sentinels REDIS_URL gives the password and database only (its host is not used)
            "api": {"secrets": {"REDIS_URL": "redis://:Zq8v2Lw9XkRedisPassword@sentinels/0"}},
            "web": {"secrets": {"REDIS_URL": ""}},
        },
    ),
    Case(
        "docket-large-numbers",
        "docket",
        {
            "global": {"ingress": {"controller": "traefik"}},
            "postgresql": {"maxConnections": 100000000},
            "api": {
                "ingress": {"hsts": {"maxAgeSeconds": 63072000}},
                "migration": {"activeDeadlineSeconds": 1200000},
                "autoscaling": {"enabled": True, "maxReplicas": 1000000},
            },
            "worker": {
                "backup": {"activeDeadlineSeconds": 1000000, "startingDeadlineSeconds": 2000000},
                "config": {"SHUTDOWN_GRACE_SECONDS": 1000000},
            },
            "monitoring": {
                "prometheusRule": {"enabled": True, "thresholds": {"queueOldestPendingSeconds": 1000000}}
            },
        },
    ),
)
CASES_BY_ID = {case.id: case for case in CASES}


# ---------------------------------------------------------------------------------------------
# Rendering


@dataclass(frozen=True)
class Manifest:
    """One rendered object and the template it came from."""

    template: str
    obj: Obj

    @property
    def kind(self) -> str:
        return str(self.obj["kind"])

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def annotations(self) -> dict[str, str]:
        return self.obj["metadata"].get("annotations") or {}

    @property
    def is_hook(self) -> bool:
        return "helm.sh/hook" in self.annotations

    @property
    def hook_weight(self) -> int:
        return int(self.annotations.get("helm.sh/hook-weight", "0"))


@dataclass
class Rendered:
    case: Case
    manifests: list[Manifest]
    notes: str
    files: dict[str, str] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Manifest]:
        return [m for m in self.manifests if m.kind == kind]

    def one(self, kind: str, name: str) -> Manifest:
        found = [m for m in self.manifests if m.kind == kind and m.name == name]
        assert len(found) == 1, f"{self.case.id}: expected one {kind}/{name}, found {len(found)}"
        return found[0]

    def names(self, kind: str) -> set[str]:
        return {m.name for m in self.of_kind(kind)}


def prepare_charts(destination: Path) -> Path:
    """Copy the charts and build their file:// dependencies (no network) into ``destination``."""
    for chart in PACKAGED_CHARTS:
        shutil.copytree(
            CHARTS / chart, destination / chart, ignore=shutil.ignore_patterns("charts", "Chart.lock")
        )
    chartpack.build_dependencies(destination)
    return destination


def parse_documents(text: str) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def manifests_of(files: dict[str, str]) -> list[Manifest]:
    """Every object of a render, with the template it came from."""
    return [
        Manifest(path, obj)
        for path, text in sorted(files.items())
        if path.endswith((".yaml", ".yml"))
        for obj in parse_documents(text)
    ]


def notes_of(files: dict[str, str], chart: str) -> str:
    """The NOTES.txt of the chart rendered (not of its sub-charts): what `helm install` prints."""
    return files.get(f"{chart}/templates/NOTES.txt", "")


class Renderer:
    """Renders cases from a prepared chart directory, loading each chart once and caching each case."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._charts: dict[str, helm.Chart] = {}
        self._cache: dict[str, Rendered] = {}

    def chart(self, name: str) -> helm.Chart:
        if name not in self._charts:
            self._charts[name] = helm.Chart.load(self.root / name)
        return self._charts[name]

    def render_values(self, chart: str, values: dict[str, Any], release: str = RELEASE) -> dict[str, str]:
        return self.chart(chart).render(
            copy.deepcopy(values), name=release, namespace=NAMESPACE, is_install=True
        )

    def render_in_cluster(
        self, chart: str, values: dict[str, Any], config: helm.Config, *, upgrade: bool = False
    ) -> dict[str, str]:
        """Render against the cluster ``config`` points at: `lookup` reads that cluster's objects."""
        return config.render(
            self.chart(chart),
            copy.deepcopy(values),
            name=RELEASE,
            namespace=NAMESPACE,
            is_install=not upgrade,
            is_upgrade=upgrade,
        )

    def render(self, case: Case) -> Rendered:
        if case.id not in self._cache:
            files = self.render_values(case.chart, case.values, case.release)
            manifests = manifests_of(files)
            self._cache[case.id] = Rendered(case, manifests, notes_of(files, case.chart), files)
            REPORT.rendered[case.id] = len(manifests)
        return self._cache[case.id]


# ---------------------------------------------------------------------------------------------
# Walking objects


def pod_template(obj: Obj) -> Obj | None:
    """The pod template of a workload (Deployment, StatefulSet, Job, CronJob), else None."""
    kind = obj.get("kind")
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]  # type: ignore[no-any-return]
    if kind in WORKLOAD_KINDS:
        return obj["spec"]["template"]  # type: ignore[no-any-return]
    return None


def containers(pod_spec: Obj) -> Iterator[Obj]:
    yield from pod_spec.get("initContainers") or []
    yield from pod_spec.get("containers") or []


def walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (path, key, value) below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, str(key), value
            yield from walk(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions with In/NotIn/Exists/DoesNotExist) against labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def cnpg_pods(rendered: Rendered) -> dict[str, dict[str, str]]:
    """The pods CloudNativePG runs for the rendered Clusters and Poolers, labelled as the operator labels
    them (v1.30.0: pkg/specs/pods.go and pkg/specs/pgbouncer/deployments.go), by pod name."""
    pods: dict[str, dict[str, str]] = {}
    common = {"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/managed-by": "cloudnative-pg"}
    for cluster in rendered.of_kind("Cluster"):
        for serial in range(1, int(cluster.obj["spec"]["instances"]) + 1):
            name = f"{cluster.name}-{serial}"
            pods[name] = {
                **common,
                "cnpg.io/cluster": cluster.name,
                "cnpg.io/instanceName": name,
                "cnpg.io/podRole": "instance",
                "cnpg.io/instanceRole": "primary" if serial == 1 else "replica",
                "app.kubernetes.io/instance": cluster.name,
                "app.kubernetes.io/component": "database",
            }
    for pooler in rendered.of_kind("Pooler"):
        cluster_name = pooler.obj["spec"]["cluster"]["name"]
        pods[f"{pooler.name}-0"] = {
            **common,
            "cnpg.io/poolerName": pooler.name,
            "cnpg.io/cluster": cluster_name,
            "cnpg.io/podRole": "pooler",
            "app.kubernetes.io/instance": cluster_name,
            "app.kubernetes.io/component": "pooler",
        }
    return pods


def is_cnpg_policy(obj: Obj) -> bool:
    """A NetworkPolicy of the CloudNativePG pods (selected by the operator's labels), not of Docket's."""
    labels = (obj["spec"]["podSelector"].get("matchLabels") or {}).keys()
    return any(label.startswith("cnpg.io/") for label in labels)


# ---------------------------------------------------------------------------------------------
# kubernetes-validate, strict, with each schema compiled once


@functools.cache
def _schema_file(version: str, kind: str, api_version: str) -> str:
    """The strict schema file kubernetes-validate uses for this object and Kubernetes version."""
    available = [v for v in kv.all_versions() if kv.major_minor(v) <= version]
    schema_version = available[-1]
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"kubernetes-json-schema/v{schema_version}-local-strict/{kind.lower()}-{api}.json"


@functools.cache
def _definitions(directory: str) -> Resource[Any]:
    return Resource.from_contents(kv.schema_contents(f"{directory}/_definitions.json", directory))


@functools.cache
def kube_validator(version: str, kind: str, api_version: str) -> jsonschema.Draft202012Validator | None:
    """The same validator kubernetes_validate.validate(..., strict=True) builds, compiled once."""
    filename = _schema_file(version, kind, api_version)
    try:
        schema = kv.schema_contents(filename, version)
    except FileNotFoundError:
        return None
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = _definitions(filename.rsplit("/", 1)[0]) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def kube_errors(obj: Obj, version: str) -> list[str] | None:
    """Strict schema errors of ``obj`` for Kubernetes ``version``; None when no schema covers its kind."""
    validator = kube_validator(version, obj["kind"], obj["apiVersion"])
    if validator is None:
        return None
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message[:300]}"
        for error in validator.iter_errors(obj)
    ]


# ---------------------------------------------------------------------------------------------
# Custom resources: the upstream CRDs' own schemas (../shared/schemas/crds, see its README for the
# versions), made strict there: every object with properties rejects unknown fields, so a typo fails.

CRD_SCHEMAS = Path(os.environ.get("DOCKET_CRD_SCHEMAS", ROOT.parent / "shared" / "schemas" / "crds"))


def crd_schema_path(api_version: str, kind: str) -> Path:
    """Where the schema of ``kind`` at ``api_version`` lives: ``{group}/{kind}_{version}.json``."""
    group, _, version = api_version.rpartition("/")
    return CRD_SCHEMAS / group / f"{kind.lower()}_{version}.json"


@functools.cache
def crd_validator(api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    """The strict validator of a custom resource kind; None when the folder has no schema for it."""
    if not CRD_SCHEMAS.is_dir():
        raise FileNotFoundError(
            f"no CRD schemas at {CRD_SCHEMAS}: the chart tests validate custom resources against them "
            "(../shared/schemas/crds beside the clone, or set DOCKET_CRD_SCHEMAS)"
        )
    path = crd_schema_path(api_version, kind)
    if "/" not in api_version or not path.is_file():
        return None
    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def crd_errors(obj: Obj) -> list[str] | None:
    """Schema errors of a custom resource against its CRD; None when no CRD schema covers its kind."""
    validator = crd_validator(obj["apiVersion"], obj["kind"])
    if validator is None:
        return None
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message[:300]}"
        for error in validator.iter_errors(obj)
    ]


# ---------------------------------------------------------------------------------------------
# k8s/ manifests


def k8s_manifests() -> list[tuple[Path, Obj]]:
    """Every Kubernetes object under k8s/ (not the kind cluster config, not the values examples)."""
    found: list[tuple[Path, Obj]] = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kind-cluster.yaml" or path.name.startswith("values-"):
            continue
        found.extend((path, obj) for obj in parse_documents(path.read_text()))
    return found


def unique(objects: list[Obj]) -> list[Obj]:
    """Objects with duplicates (the same object rendered by several cases) removed."""
    seen: dict[str, Obj] = {}
    for obj in objects:
        seen.setdefault(json.dumps(obj, sort_keys=True), obj)
    return list(seen.values())


# ---------------------------------------------------------------------------------------------
# The report


@dataclass
class Report:
    rendered: dict[str, int] = field(default_factory=dict)
    validated: Counter[str] = field(default_factory=Counter)
    crd_checked: Counter[str] = field(default_factory=Counter)
    lint: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    checkov: dict[str, Any] = field(default_factory=dict)
    schema_rejections: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out: list[str] = []
        if self.rendered:
            out.append(
                f"rendered {len(self.rendered)} cases, {sum(self.rendered.values())} objects "
                f"({', '.join(f'{k}={v}' for k, v in sorted(self.rendered.items()))})"
            )
        if self.validated:
            per_version = ", ".join(f"{v}: {self.validated[v]}" for v in sorted(self.validated))
            out.append(
                f"kubernetes-validate --strict, distinct objects per Kubernetes version: {per_version}"
            )
        if self.crd_checked:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.crd_checked.items()))
            out.append(f"custom resources validated against their CRD schemas (strict): {kinds}")
        if self.checkov:
            out.append(
                "checkov {version}: passed {passed}, failed {failed}, skipped {skipped} "
                "(resources {resources}; checks skipped by .checkov.yaml: {config_skips})".format(
                    **self.checkov
                )
            )
        if self.schema_rejections:
            out.append(f"schema rejected {len(self.schema_rejections)} bad values, each naming its field")
        for chart, messages in sorted(self.lint.items()):
            out.append(f"helm lint --strict {chart}: " + ("; ".join(sorted(set(messages))) or "no messages"))
        return out


REPORT = Report()
