"""Policies every rendered release keeps, whatever the values: selectors, named ports, references,
resources, the restricted profile, hooks, rollouts, probes, shutdown and the CLI commands."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chartlib
import pytest
from chartlib import CASES, ROOT, SELECTOR_LABELS, STANDARD_LABELS, UID, Manifest, Obj, Rendered, Renderer

Workload = tuple[Manifest, Obj]  # (manifest, pod template)


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.id)
def rendered(request: pytest.FixtureRequest, renderer: Renderer) -> Rendered:
    return renderer.render(request.param)


def workloads(rendered: Rendered) -> Iterator[Workload]:
    for manifest in rendered.manifests:
        template = chartlib.pod_template(manifest.obj)
        if template is not None:
            yield manifest, template


def restricted_violations(pod_spec: Obj, *, uid: int | None = UID) -> list[str]:
    """What the Pod Security "restricted" profile (and Docket's own rules) would refuse in a pod spec."""
    problems: list[str] = []
    pod_ctx = pod_spec.get("securityContext") or {}
    if pod_spec.get("automountServiceAccountToken") is not False:
        problems.append("automountServiceAccountToken is not false")
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(field):
            problems.append(f"{field} is set")
    for volume in pod_spec.get("volumes") or []:
        allowed = {
            "configMap",
            "csi",
            "downwardAPI",
            "emptyDir",
            "ephemeral",
            "persistentVolumeClaim",
            "projected",
            "secret",
        }
        if not (set(volume) - {"name"}) <= allowed:
            problems.append(f"volume {volume['name']} has a type outside the restricted set")
    for container in chartlib.containers(pod_spec):
        ctx = container.get("securityContext") or {}
        name = container["name"]

        def effective(key: str, ctx: dict[str, Any] = ctx) -> Any:
            return ctx.get(key, pod_ctx.get(key))

        if effective("runAsNonRoot") is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if uid is not None and (effective("runAsUser"), effective("runAsGroup")) != (uid, uid):
            problems.append(
                f"{name}: runs as {effective('runAsUser')}:{effective('runAsGroup')}, not {uid}:{uid}"
            )
        if effective("runAsUser") == 0:
            problems.append(f"{name}: runs as root")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if ctx.get("privileged"):
            problems.append(f"{name}: privileged")
        if ctx.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: readOnlyRootFilesystem is not true")
        capabilities = ctx.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{name}: capabilities do not drop ALL")
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities")
        seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile is {seccomp}")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f"{name}: hostPort")
        resources = container.get("resources") or {}
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if not (resources.get(section) or {}).get(resource):
                    problems.append(f"{name}: no {section}.{resource}")
    return problems


# ---------------------------------------------------------------------------------------------
# labels and selectors


def test_every_object_carries_the_standard_labels(rendered: Rendered) -> None:
    for manifest in rendered.manifests:
        labels = manifest.obj["metadata"].get("labels") or {}
        missing = [label for label in STANDARD_LABELS if not labels.get(label)]
        assert not missing, f"{manifest.kind}/{manifest.name} lacks {missing}"
        assert labels["app.kubernetes.io/part-of"] == "docket"
        assert labels["app.kubernetes.io/instance"] == rendered.case.release
    for manifest, template in workloads(rendered):
        labels = template["metadata"]["labels"]
        assert all(labels.get(label) for label in STANDARD_LABELS), f"{manifest.name}: pod labels"


def test_selectors_use_only_stable_labels_and_match_the_pods(rendered: Rendered) -> None:
    pods = {m.name: t["metadata"]["labels"] for m, t in workloads(rendered)}
    for deployment in rendered.of_kind("Deployment"):
        selector = deployment.obj["spec"]["selector"]
        assert set(selector["matchLabels"]) == SELECTOR_LABELS, deployment.name
        assert chartlib.matches(selector, pods[deployment.name])
        for constraint in deployment.obj["spec"]["template"]["spec"].get("topologySpreadConstraints") or []:
            assert constraint["labelSelector"] == selector, f"{deployment.name}: spread over its own pods"
            assert constraint["topologyKey"] == "kubernetes.io/hostname"
    for service in rendered.of_kind("Service"):
        selector = service.obj["spec"]["selector"]
        assert set(selector) == SELECTOR_LABELS, service.name
        targets = [
            name for name, labels in pods.items() if chartlib.matches({"matchLabels": selector}, labels)
        ]
        assert targets == [_workload_of(service)], f"Service {service.name} selects {targets}"
    for pdb in rendered.of_kind("PodDisruptionBudget"):
        targets = [
            n for n in rendered.names("Deployment") if chartlib.matches(pdb.obj["spec"]["selector"], pods[n])
        ]
        assert targets == [pdb.name], f"PDB {pdb.name} selects {targets}"
        assert pdb.obj["spec"].get("maxUnavailable") or pdb.obj["spec"].get("minAvailable")
    for hpa in rendered.of_kind("HorizontalPodAutoscaler"):
        target = hpa.obj["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment"
        assert target["name"] in rendered.names("Deployment")
        assert hpa.obj["spec"]["behavior"]["scaleUp"]
        assert hpa.obj["spec"]["behavior"]["scaleDown"]
    operator_pods = chartlib.cnpg_pods(rendered)
    for policy in rendered.of_kind("NetworkPolicy"):
        candidates = operator_pods if chartlib.is_cnpg_policy(policy.obj) else pods
        selected = [
            n
            for n, labels in candidates.items()
            if chartlib.matches(policy.obj["spec"]["podSelector"], labels)
        ]
        assert selected, f"NetworkPolicy {policy.name} selects no pod of the release"
        others = pods if chartlib.is_cnpg_policy(policy.obj) else operator_pods
        assert not [
            n for n, labels in others.items() if chartlib.matches(policy.obj["spec"]["podSelector"], labels)
        ]
    services = {s.name: s.obj for s in rendered.of_kind("Service")}
    for monitor in rendered.of_kind("ServiceMonitor"):
        selected = [
            name
            for name, service in services.items()
            if chartlib.matches(monitor.obj["spec"]["selector"], service["metadata"]["labels"])
        ]
        assert selected == [f"{monitor.name}-metrics"], f"ServiceMonitor {monitor.name} selects {selected}"
        ports = {p["name"] for p in services[selected[0]]["spec"]["ports"]}
        assert {e["port"] for e in monitor.obj["spec"]["endpoints"]} <= ports


def _workload_of(service: Manifest) -> str:
    """The Deployment a Service fronts: "<fullname>" for the public one, "<fullname>-metrics" for metrics."""
    return service.name.removesuffix("-metrics")


# ---------------------------------------------------------------------------------------------
# ports


def test_probes_and_services_target_named_ports_that_exist(rendered: Rendered) -> None:
    pods = {m.name: t["spec"] for m, t in workloads(rendered)}
    for name, spec in pods.items():
        for container in spec["containers"]:
            ports = {p["name"] for p in container.get("ports") or []}
            for probe_kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                probe = container.get(probe_kind)
                if probe is None:
                    continue
                port = probe["httpGet"]["port"]
                assert isinstance(port, str), f"{name}: {probe_kind} uses a numbered port"
                assert port in ports, f"{name}: {probe_kind} port {port!r} is not a container port"
    for service in rendered.of_kind("Service"):
        spec = pods[_workload_of(service)]
        named = {p["name"]: p["containerPort"] for c in spec["containers"] for p in c.get("ports") or []}
        for port in service.obj["spec"]["ports"]:
            assert isinstance(port["targetPort"], str), f"{service.name}: a numbered targetPort"
            assert port["targetPort"] in named, (
                f"{service.name}: targetPort {port['targetPort']} is no container port"
            )
    services = {s.name: {p["name"] for p in s.obj["spec"]["ports"]} for s in rendered.of_kind("Service")}
    for ingress in rendered.of_kind("Ingress"):
        for rule in ingress.obj["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in services, (
                    f"Ingress {ingress.name} -> missing Service {backend['name']}"
                )
                assert backend["port"]["name"] in services[backend["name"]]


def test_probes_and_metrics_are_reachable_only_on_the_management_port(rendered: Rendered) -> None:
    """/healthz, /readyz and /metrics live on "management"; what the Ingress reaches has only "http"."""
    for deployment in rendered.of_kind("Deployment"):
        container = deployment.obj["spec"]["template"]["spec"]["containers"][0]
        for probe_kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            port = container[probe_kind]["httpGet"]["port"]
            assert port == "management", f"{deployment.name}: {probe_kind} on {port}"
    for monitor in rendered.of_kind("ServiceMonitor"):
        assert [e["port"] for e in monitor.obj["spec"]["endpoints"]] == ["management"], monitor.name
    services = {s.name: s.obj for s in rendered.of_kind("Service")}
    for ingress in rendered.of_kind("Ingress"):
        for rule in ingress.obj["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["name"] == "http", f"Ingress {ingress.name} points at {backend}"
                ports = services[backend["name"]]["spec"]["ports"]
                assert [(p["name"], p["targetPort"]) for p in ports] == [("http", "http")], (
                    f"Service {backend['name']} behind the Ingress exposes {ports}"
                )
    for service in rendered.of_kind("Service"):
        names = {p["targetPort"] for p in service.obj["spec"]["ports"]}
        assert names in ({"http"}, {"management"}), f"{service.name} mixes the public and management ports"
        if "management" in names:
            assert service.name.endswith("-metrics")
            assert service.obj["metadata"]["labels"]["app.kubernetes.io/component"] == "metrics"
            assert service.obj["spec"]["clusterIP"] == "None"


# ---------------------------------------------------------------------------------------------
# references


def _references(pod_spec: Obj) -> Iterator[tuple[str, str, str | None]]:
    """(kind, name, key) of every Secret, ConfigMap and claim a pod spec uses; an optional key is None."""
    for container in chartlib.containers(pod_spec):
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            for kind, ref_name in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                if ref_name in source:
                    ref = source[ref_name]
                    yield kind, ref["name"], None if ref.get("optional") else ref["key"]
        for env_from in container.get("envFrom") or []:
            if "secretRef" in env_from:
                yield "Secret", env_from["secretRef"]["name"], None
            if "configMapRef" in env_from:
                yield "ConfigMap", env_from["configMapRef"]["name"], None
    for volume in pod_spec.get("volumes") or []:
        if "secret" in volume:
            for item in volume["secret"].get("items") or [{"key": None}]:
                yield "Secret", volume["secret"]["secretName"], item["key"]
        if "configMap" in volume:
            yield "ConfigMap", volume["configMap"]["name"], None
        if "persistentVolumeClaim" in volume:
            yield "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"], None
    yield "ServiceAccount", pod_spec["serviceAccountName"], None


def _data_keys(obj: Obj) -> set[str]:
    return set(obj.get("data") or {}) | set(obj.get("stringData") or {})


def test_every_reference_resolves_in_the_release_or_to_a_documented_existing_object(
    rendered: Rendered,
) -> None:
    objects = {(m.kind, m.name): m for m in rendered.manifests}
    external = rendered.case.external
    for workload, template in workloads(rendered):
        for kind, name, key in _references(template["spec"]):
            target = objects.get((kind, name))
            if target is None:
                assert name in external, (
                    f"{workload.name} uses {kind}/{name}: not in the release, not documented"
                )
                continue
            if key is not None:
                assert key in _data_keys(target.obj), (
                    f"{workload.name} uses {kind}/{name} key {key}, which it lacks"
                )
            if workload.is_hook:
                # a hook runs before the release's objects exist: what it uses must be a hook created first
                assert target.is_hook, f"hook {workload.name} uses {kind}/{name}, which is no hook"
                assert target.hook_weight < workload.hook_weight, (
                    f"{kind}/{name} must be created before {workload.name}"
                )
            elif target.is_hook:
                # a release object may use a hook only if Helm never deletes it (Helm's default
                # policy for a hook without one is before-hook-creation)
                policies = set(target.annotations.get("helm.sh/hook-delete-policy", "").split(","))
                assert "helm.sh/hook-delete-policy" in target.annotations, f"{kind}/{name}: no policy"
                assert not policies & {"hook-succeeded", "before-hook-creation"}, (
                    f"{workload.name} uses hook {kind}/{name}, which Helm deletes"
                )


def test_optional_secret_keys_are_marked_optional(rendered: Rendered) -> None:
    for workload, template in workloads(rendered):
        for container in chartlib.containers(template["spec"]):
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref["key"] in {"SENTRY_DSN", "JWT_SECRET_PREVIOUS"}:
                    assert ref.get("optional") is True, f"{workload.name}: {ref['key']} must be optional"
                required = {"DATABASE_URL", "JWT_SECRET"} | (
                    {"REDIS_URL"} if not _sentinels(rendered) else set()
                )
                if ref and ref["key"] in required:
                    assert not ref.get("optional"), f"{workload.name}: {ref['key']} must be required"
                if ref and ref["key"] == "REDIS_URL" and _sentinels(rendered):
                    assert ref.get("optional") is True, "with Sentinels REDIS_URL gives only the password"


def test_each_workload_has_its_own_service_account(rendered: Rendered) -> None:
    accounts: dict[str, set[str]] = {}
    for _workload, template in workloads(rendered):
        accounts.setdefault(template["spec"]["serviceAccountName"], set()).add(
            template["metadata"]["labels"]["app.kubernetes.io/component"]
        )
    for account, components in accounts.items():
        assert account != "default"
        assert components <= {"backup", "backup-verify"} or len(components) == 1, (
            f"ServiceAccount {account} is shared by {components}"
        )
    for account in rendered.of_kind("ServiceAccount"):
        assert account.obj["automountServiceAccountToken"] is False


# ---------------------------------------------------------------------------------------------
# the restricted profile, resources, /tmp


def test_every_pod_is_restricted_with_requests_limits_and_a_writable_tmp(rendered: Rendered) -> None:
    for workload, template in workloads(rendered):
        spec = template["spec"]
        problems = restricted_violations(spec)
        assert not problems, f"{workload.kind}/{workload.name}: {problems}"
        assert spec["enableServiceLinks"] is False
        tmp = [v for v in spec["volumes"] if v["name"] == "tmp"]
        assert tmp, f"{workload.name}: no tmp volume"
        assert "emptyDir" in tmp[0], f"{workload.name}: /tmp is an emptyDir"
        for container in spec["containers"]:
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") == "tmp", f"{workload.name}/{container['name']} mounts no /tmp"


def test_images_are_pinned(rendered: Rendered) -> None:
    for workload, template in workloads(rendered):
        for container in chartlib.containers(template["spec"]):
            image = container["image"]
            repository, _, tag = image.rpartition(":")
            assert repository, f"{workload.name}: {image} has no tag"
            assert "/" not in tag, f"{workload.name}: {image} has no tag"
            assert tag != "latest", f"{workload.name}: {image}"
            assert re.fullmatch(r"(.+/)?docket-(api|web|worker)", repository), image


# ---------------------------------------------------------------------------------------------
# rollouts, shutdown


def _config(rendered: Rendered, workload: Manifest) -> dict[str, str]:
    spec = chartlib.pod_template(workload.obj)["spec"]  # type: ignore[index]
    name = spec["containers"][0]["envFrom"][0]["configMapRef"]["name"]
    return rendered.one("ConfigMap", name).obj["data"]  # type: ignore[no-any-return]


def test_deployments_roll_without_losing_capacity_and_stop_gracefully(rendered: Rendered) -> None:
    for deployment in rendered.of_kind("Deployment"):
        spec = deployment.obj["spec"]
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        pod = spec["template"]["spec"]
        container = pod["containers"][0]
        sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        grace = float(_config(rendered, deployment).get("SHUTDOWN_GRACE_SECONDS", "30"))
        assert sleep > 0
        assert pod["terminationGracePeriodSeconds"] > grace + sleep, deployment.name
        annotations = spec["template"]["metadata"]["annotations"]
        assert re.fullmatch(r"[0-9a-f]{64}", annotations["checksum/config"])


def _chart_values(rendered: Rendered, chart: str) -> dict[str, Any]:
    values = rendered.case.values
    return values if rendered.case.chart == chart else values.get(chart, {})


def test_pdbs_follow_the_replica_count(rendered: Rendered) -> None:
    for deployment in rendered.of_kind("Deployment"):
        chart = deployment.obj["metadata"]["labels"]["app.kubernetes.io/name"]
        explicit = _chart_values(rendered, chart).get("pdb", {}).get("enabled")
        replicas = deployment.obj["spec"].get("replicas")
        has_hpa = deployment.name in rendered.names("HorizontalPodAutoscaler")
        has_pdb = deployment.name in rendered.names("PodDisruptionBudget")
        if explicit is not None:
            assert has_pdb is explicit, f"{deployment.name}: pdb.enabled={explicit}"
        elif has_hpa:
            assert has_pdb, f"{deployment.name}: autoscaled from more than one replica"
        else:
            assert has_pdb is (replicas > 1), f"{deployment.name}: {replicas} replica(s), PDB {has_pdb}"


# ---------------------------------------------------------------------------------------------
# hooks and scheduled jobs


def _sentinels(rendered: Rendered) -> bool:
    return bool((rendered.case.values.get("global") or {}).get("redis", {}).get("sentinels"))


def _cnpg(rendered: Rendered) -> bool:
    values = rendered.case.values
    return bool((values.get("global") or {}).get("postgresql", {}).get("mode") == "cnpg")


MIGRATION_PHASES = {
    "expand": ("docket-api-migrate", "pre-install,pre-upgrade"),
    "contract": ("docket-api-migrate-contract", "post-install,post-upgrade"),
}


@pytest.mark.parametrize("phase", list(MIGRATION_PHASES))
def test_expand_migrates_before_the_upgrade_and_contract_after_it_each_a_weighted_hook(
    rendered: Rendered, phase: str
) -> None:
    """In cnpg mode with no Cluster in the cluster (as here: no `lookup` answers), ordinary Jobs that
    wait for the database instead; test_cnpg.py renders the hooks against a Cluster that exists."""
    name, when = MIGRATION_PHASES[phase]
    jobs = [
        m
        for m in rendered.of_kind("Job")
        if m.obj["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
        and m.obj["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate", "--phase", phase]
    ]
    if rendered.case.chart not in ("api", "docket"):
        assert not jobs
        return
    assert len(jobs) == 1
    job = jobs[0]
    cnpg = _cnpg(rendered)
    spec = job.obj["spec"]
    assert spec["backoffLimit"] >= 0
    assert spec["activeDeadlineSeconds"] > 0
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    related = [
        m
        for m in rendered.manifests
        if m.kind != "Job"
        and m.obj["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
        and (m.name == name or (m.name.startswith(name) and not m.name.startswith(f"{name}-contract")))
    ]
    kinds = {m.kind for m in related}
    assert "ServiceAccount" in kinds
    assert ("NetworkPolicy" in kinds) == any(
        m.obj["metadata"]["labels"]["app.kubernetes.io/component"] != "migrate"
        for m in rendered.of_kind("NetworkPolicy")
    )
    container = pod["containers"][0]
    assert "envFrom" not in container
    if cnpg:
        assert re.fullmatch(rf"{name}-[0-9a-f]{{8}}", job.name), job.name
        assert not job.is_hook, "a hook runs before the Cluster exists and could not wait for it"
        assert not any(m.is_hook for m in related)
        assert "Secret" not in kinds, "the credentials are the Cluster's app Secret"
        assert [c["name"] for c in pod["initContainers"]] == ["wait-for-database"]
        # the Job reads the database URL (built from the app Secret's user and password) and how to log
        assert {e["name"] for e in container["env"]} == {
            "ENVIRONMENT",
            "LOG_LEVEL",
            "CNPG_APP_USERNAME",
            "CNPG_APP_PASSWORD",
            "DATABASE_URL",
        }
        return
    assert job.name == name
    assert job.annotations["helm.sh/hook"] == when
    assert job.annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert job.hook_weight == 0
    assert "initContainers" not in pod
    assert ("Secret" in kinds) == any(not m.is_hook for m in rendered.of_kind("Secret"))
    for hook in related:
        assert hook.annotations["helm.sh/hook"] == when
        assert hook.hook_weight < job.hook_weight, f"{hook.kind}/{hook.name} must exist before the Job"
        assert hook.annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    # the Job reads the database URL and how to log, nothing of the API's other settings or secrets
    assert {e["name"] for e in container["env"]} == {"ENVIRONMENT", "LOG_LEVEL", "DATABASE_URL"}
    for secret in (m for m in related if m.kind == "Secret"):
        assert set(secret.obj["data"]) == {"DATABASE_URL"}


def test_backup_cronjobs_are_safe_to_miss_and_never_overlap(rendered: Rendered) -> None:
    for cronjob in rendered.of_kind("CronJob"):
        spec = cronjob.obj["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["startingDeadlineSeconds"] > 0
        assert spec["successfulJobsHistoryLimit"] >= 1
        assert spec["failedJobsHistoryLimit"] >= 1
        job = spec["jobTemplate"]["spec"]
        assert job["backoffLimit"] >= 0
        assert job["activeDeadlineSeconds"] > 0
        assert job["template"]["spec"]["restartPolicy"] == "Never"
        if cronjob.name.endswith("-backup"):
            assert spec["schedule"] == "0 2 * * *"
        env = {e["name"] for e in job["template"]["spec"]["containers"][0]["env"]}
        assert "BACKUP_DIR" in env


# ---------------------------------------------------------------------------------------------
# network policies


def _peers_namespaces(rule: Obj) -> set[str]:
    return {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for peer in rule.get("from") or rule.get("to") or []
        if "namespaceSelector" in peer
    }


# the TCP ports each policy's pods must reach (besides DNS), and those they must never reach; the key
# is the policy's component (None: the backup Jobs' policy, which selects two components)
EGRESS_REQUIRED: dict[str | None, set[int]] = {
    "api": {5432, 6379},
    "web": {8000, 6379},
    "worker": {5432, 6379},
    "migrate": {5432},
    None: {5432},
}
EGRESS_FORBIDDEN: dict[str | None, set[int]] = {
    "api": set(),
    "web": {5432},
    "worker": set(),
    "migrate": {6379, 8000},
    None: {6379, 8000},
}
DEFAULT_METRICS_PEERS = [
    {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
]


def test_network_policies_deny_by_default_and_admit_only_the_expected_peers(rendered: Rendered) -> None:
    """Docket's pods; the CloudNativePG pods' policies are test_cnpg.py's."""
    for policy in rendered.of_kind("NetworkPolicy"):
        if chartlib.is_cnpg_policy(policy.obj):
            continue
        spec = policy.obj["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"], policy.name
        component = (spec["podSelector"].get("matchLabels") or {}).get("app.kubernetes.io/component")
        ingress = spec.get("ingress") or []
        egress = spec["egress"]
        dns = egress[0]
        assert {p["port"] for p in dns["ports"]} == {53}
        assert {p["protocol"] for p in dns["ports"]} == {"UDP", "TCP"}
        for rule in egress:
            assert rule.get("to"), f"{policy.name}: a rule without peers opens its ports to every address"
        egress_ports = {p["port"] for rule in egress[1:] for p in rule.get("ports") or []}
        assert EGRESS_REQUIRED[component] <= egress_ports, f"{policy.name} reaches only {egress_ports}"
        assert not EGRESS_FORBIDDEN[component] & egress_ports, f"{policy.name} reaches {egress_ports}"
        if component in (None, "migrate"):  # the Jobs take no traffic
            assert ingress == [], policy.name
            continue
        chart = _chart_values(rendered, component)
        metrics_peers = chart.get("networkPolicy", {}).get("metricsFrom", DEFAULT_METRICS_PEERS)
        public_sources: set[str] = set()
        for rule in ingress:
            ports = {p["port"] for p in rule["ports"]}
            assert ports in ({"http"}, {"management"}), f"{policy.name}: a rule mixes ports {ports}"
            if ports == {"management"}:
                assert rule["from"] == metrics_peers, f"{policy.name}: management open to {rule['from']}"
            else:
                public_sources |= _peers_namespaces(rule)
        if component == "worker":
            assert all(p["port"] == "management" for rule in ingress for p in rule["ports"]), (
                "the worker admits only the monitoring peers"
            )
        else:
            assert public_sources & {"ingress-nginx", "traefik"}, f"{policy.name}: no ingress controller"
        if component == "api":
            from_web = [
                peer["podSelector"]["matchLabels"]
                for rule in ingress
                for peer in rule["from"]
                if "podSelector" in peer and "namespaceSelector" not in peer
            ]
            assert {"app.kubernetes.io/part-of": "docket", "app.kubernetes.io/component": "web"} in from_web


# ---------------------------------------------------------------------------------------------
# commands: the real CLIs


def _dockerfile_entrypoint(service: str) -> list[str]:
    """The ENTRYPOINT of the Dockerfile's target named after ``service`` (its FROM … AS service stage)."""
    stages = re.split(r"^FROM\s", (ROOT / "Dockerfile").read_text(), flags=re.M)
    stage = next(s for s in stages if re.match(rf"\S+\s+AS\s+{service}\s*$", s.splitlines()[0], re.I))
    match = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", stage, re.M)
    assert match, f"the Dockerfile's {service} target has no exec-form ENTRYPOINT"
    return list(json.loads(match.group(1)))


def _parses(service: str, args: list[str]) -> bool:
    """Whether the service's real CLI accepts ``args`` (parsed with --help, so nothing runs)."""
    if service == "worker":
        from docket_worker.cli import build_parser

        try:
            build_parser().parse_args(args)
        except SystemExit:
            return False
        return True
    module = __import__(f"docket_{service}.cli", fromlist=["main"])
    try:
        module.main([*args, "--help"])
    except SystemExit as exit_:
        return exit_.code == 0
    return False


def test_containers_run_the_real_cli_through_the_image_entrypoint(
    rendered: Rendered, capsys: pytest.CaptureFixture[str]
) -> None:
    for workload, template in workloads(rendered):
        service = template["spec"]["containers"][0]["image"].rpartition(":")[0].rpartition("docket-")[2]
        for container in template["spec"]["containers"]:
            assert "command" not in container, f"{workload.name}: the image's entrypoint is the CLI"
            assert _parses(service, container["args"]), f"docket-{service} rejects {container['args']}"
        entrypoint = _dockerfile_entrypoint(service)
        assert Path(entrypoint[-1]).name == f"docket-{service}", entrypoint
    capsys.readouterr()


def test_the_cli_check_rejects_a_wrong_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert not _parses("api", ["migrate-all"])
    assert not _parses("worker", ["backup", "dump"])
    assert _parses("worker", ["backup", "verify", "--latest", "--restore-test"])
    capsys.readouterr()


# ---------------------------------------------------------------------------------------------
# k8s/: the development manifests pass the restricted profile too


def test_k8s_pods_pass_the_restricted_profile() -> None:
    workloads_found = 0
    for path, obj in chartlib.k8s_manifests():
        template = chartlib.pod_template(obj)
        if template is None:
            continue
        workloads_found += 1
        problems = restricted_violations(template["spec"], uid=None)
        assert not problems, f"{path.relative_to(ROOT)} {obj['kind']}/{obj['metadata']['name']}: {problems}"
        for container in template["spec"]["containers"]:
            assert not container["image"].endswith(":latest")
            assert ":" in container["image"]
    assert workloads_found == 2
