"""cnpg mode (global.postgresql.mode=cnpg): the umbrella renders a CloudNativePG Cluster, ObjectStore,
ScheduledBackup and PgBouncer Pooler that validate against their CRDs, every pod reaches the database
the way its connections need (the pooler, or the primary past it), and values that cannot work are
refused, naming the value."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import chartlib
import helm_python as helm
import kubeapi
import psycopg
import pytest
from chartlib import KUBE_VERSIONS, NAMESPACE, Manifest, Obj, Rendered, Renderer
from helm_commands import merge

PLUGIN = "barman-cloud.cloudnative-pg.io"
CLUSTER = "docket-postgresql"
POOLER = "docket-postgresql-pooler-rw"
STORE = "docket-postgresql-backups"


@pytest.fixture(scope="module")
def production(renderer: Renderer) -> Rendered:
    return renderer.render(chartlib.CASES_BY_ID["docket-production-cnpg"])


def cnpg_values(**cnpg: Any) -> dict[str, Any]:
    """The smallest cnpg install: backups to an object store, and ``cnpg`` over postgresql.cnpg."""
    values = {
        "global": {"postgresql": {"mode": "cnpg"}},
        "postgresql": {"cnpg": {"backup": {"objectStore": chartlib.OBJECT_STORE}}},
    }
    return merge(values, {"postgresql": {"cnpg": cnpg}})


def render(renderer: Renderer, values: dict[str, Any]) -> list[Manifest]:
    return chartlib.manifests_of(renderer.render_values("docket", values))


def one(manifests: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = [m for m in manifests if m.kind == kind and (name is None or m.name == name)]
    assert len(found) == 1, f"{kind}/{name}: {[m.name for m in found]}"
    return found[0]


def env_of(container: Obj) -> dict[str, Obj]:
    return {e["name"]: e for e in container.get("env") or []}


def expanded(env: list[Obj], name: str) -> str:
    """The value the kubelet gives ``name``: $(VAR) replaced by the value of an earlier entry, here with
    stand-in credentials for the two read from the Cluster's app Secret."""
    values: dict[str, str] = {}
    stand_in = {"CNPG_APP_USERNAME": "docket", "CNPG_APP_PASSWORD": "s3cretPassw0rd"}
    for entry in env:
        if "value" in entry:
            values[entry["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: values.get(m[1], m[0]), entry["value"]
            )
        elif entry["name"] in stand_in:
            values[entry["name"]] = stand_in[entry["name"]]
    return values[name]


def target(env: list[Obj], name: str) -> dict[str, str]:
    """Where a database URL goes, as libpq reads it."""
    params = psycopg.conninfo.conninfo_to_dict(expanded(env, name))
    return {key: str(value) for key, value in params.items()}


def workload_env(manifest: Manifest) -> list[Obj]:
    template = chartlib.pod_template(manifest.obj)
    assert template is not None
    return template["spec"]["containers"][0]["env"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# the production render


def test_the_production_render_has_the_four_custom_resources_valid_against_their_crds(
    production: Rendered,
) -> None:
    for kind in ("Cluster", "ObjectStore", "ScheduledBackup", "Pooler"):
        (manifest,) = production.of_kind(kind)
        assert chartlib.crd_errors(manifest.obj) == [], kind
    for manifest in production.manifests:
        if chartlib.kube_errors(manifest.obj, KUBE_VERSIONS[-1]) is None:
            assert chartlib.crd_errors(manifest.obj) == [], f"{manifest.kind}/{manifest.name}"
            continue
        for version in KUBE_VERSIONS:
            errors = chartlib.kube_errors(manifest.obj, version)
            assert errors == [], f"{manifest.kind}/{manifest.name} {version}: {errors}"


def test_every_pods_database_url_points_at_the_pooler(production: Rendered) -> None:
    deployments = {m.name: m for m in production.of_kind("Deployment")}
    for name in ("docket-api", "docket-worker"):
        env = workload_env(deployments[name])
        assert target(env, "DATABASE_URL") == {
            "user": "docket",
            "password": "s3cretPassw0rd",
            "host": f"{POOLER}.{NAMESPACE}.svc",
            "port": "5432",
            "dbname": "docket",
            "sslmode": "require",
        }, name
        names = [e["name"] for e in env]
        assert names.index("CNPG_APP_PASSWORD") < names.index("DATABASE_URL"), (
            "$(VAR) expands earlier entries only"
        )
    assert "DATABASE_URL" not in env_of(
        chartlib.pod_template(deployments["docket-web"].obj)["spec"]["containers"][0]
    )  # type: ignore[index]
    (pooler,) = production.of_kind("Pooler")
    assert pooler.name == POOLER, "the Pooler's Service has its name"


def test_the_listener_the_migration_and_the_backups_go_to_the_primary_past_the_pooler(
    production: Rendered,
) -> None:
    rw = f"{CLUSTER}-rw.{NAMESPACE}.svc"
    worker = production.one("Deployment", "docket-worker")
    assert target(workload_env(worker), "DATABASE_LISTEN_URL")["host"] == rw
    migrations = [m for m in production.of_kind("Job") if m.name.startswith("docket-api-migrate")]
    assert len(migrations) == 2, "expand and contract"
    for migrate in migrations:
        pod = migrate.obj["spec"]["template"]["spec"]
        assert target(pod["containers"][0]["env"], "DATABASE_URL")["host"] == rw
        assert target(pod["initContainers"][0]["env"], "DATABASE_URL")["host"] == rw, (
            "it waits for the same server"
        )
    for cronjob in production.of_kind("CronJob"):
        assert target(workload_env(cronjob), "DATABASE_URL")["host"] == rw, cronjob.name
    api = production.one("Deployment", "docket-api")
    assert target(workload_env(api), "DATABASE_READ_URL")["host"] == f"{CLUSTER}-ro.{NAMESPACE}.svc"


def test_the_services_know_their_database_url_is_a_transaction_pooler(
    production: Rendered, renderer: Renderer
) -> None:
    """DATABASE_POOLER=transaction: timeouts per transaction, no server-side prepared statements."""
    for chart in ("api", "worker"):
        assert production.one("ConfigMap", f"docket-{chart}").obj["data"]["DATABASE_POOLER"] == "transaction"
    assert "DATABASE_POOLER" not in production.one("ConfigMap", "docket-web").obj["data"]
    external = chartlib.manifests_of(renderer.render_values("docket", {}))
    assert one(external, "ConfigMap", "docket-api").obj["data"]["DATABASE_POOLER"] == "none"


def test_the_credentials_come_from_the_clusters_app_secret_and_nowhere_else(production: Rendered) -> None:
    for manifest in production.manifests:
        template = chartlib.pod_template(manifest.obj)
        if template is None:
            continue
        for container in chartlib.containers(template["spec"]):
            for entry in container.get("env") or []:
                ref = (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
                if ref.get("name") == f"{CLUSTER}-app":
                    assert ref["key"] in ("username", "password")
                assert "s3cret" not in entry.get("value", "")
    for kind in ("ConfigMap", "Secret"):
        for manifest in production.of_kind(kind):
            assert not set(manifest.obj.get("data") or {}) & {
                "DATABASE_URL",
                "DATABASE_READ_URL",
                "DATABASE_LISTEN_URL",
            }


def test_the_cluster_spreads_its_instances_and_archives_wal_with_the_plugin(production: Rendered) -> None:
    cluster = production.one("Cluster", CLUSTER).obj
    spec = cluster["spec"]
    assert spec["instances"] == 3
    assert spec["affinity"] == {
        "enablePodAntiAffinity": True,
        "podAntiAffinityType": "required",
        "topologyKey": "kubernetes.io/hostname",
    }
    assert (spec["primaryUpdateStrategy"], spec["primaryUpdateMethod"]) == ("unsupervised", "switchover")
    assert spec["bootstrap"] == {"initdb": {"database": "docket", "owner": "docket", "dataChecksums": True}}
    assert spec["plugins"] == [
        {"name": PLUGIN, "isWALArchiver": True, "parameters": {"barmanObjectName": STORE}}
    ]
    assert spec["storage"]["size"] == "100Gi"
    parameters = spec["postgresql"]["parameters"]
    assert parameters["max_connections"] == "300"
    assert parameters["hot_standby_feedback"] == "on", "a standby's long search is not cancelled by vacuum"
    assert all(isinstance(v, str) for v in parameters.values())
    assert spec["postgresql"]["synchronous"] == {"method": "any", "number": 1}
    (role,) = spec["managed"]["roles"]
    assert role == {
        "name": "docket",
        "ensure": "present",
        "login": True,
        "createdb": True,
        "comment": role["comment"],
    }, "the restore test (on in production) creates a scratch database"
    assert cluster["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_the_object_store_keeps_the_retention_and_reads_the_named_secret(production: Rendered) -> None:
    store = production.one("ObjectStore", STORE).obj
    assert store["spec"]["retentionPolicy"] == "30d"
    configuration = store["spec"]["configuration"]
    assert configuration["destinationPath"] == "s3://docket-backups/production/postgresql"
    assert configuration["s3Credentials"] == {
        "accessKeyId": {"name": "docket-backup-s3", "key": "AWS_ACCESS_KEY_ID"},
        "secretAccessKey": {"name": "docket-backup-s3", "key": "AWS_SECRET_ACCESS_KEY"},
    }
    assert store["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert "endpointURL" not in configuration, "AWS: no endpoint"


def test_no_pod_monitor_unless_asked(renderer: Renderer) -> None:
    assert not [m for m in render(renderer, cnpg_values()) if m.kind == "PodMonitor"]


def test_retention_is_the_value(renderer: Renderer) -> None:
    store = one(render(renderer, cnpg_values(backup={"retentionPolicy": "12w"})), "ObjectStore").obj
    assert store["spec"]["retentionPolicy"] == "12w"


def test_the_scheduled_backup_uses_the_plugin_on_a_six_field_schedule(production: Rendered) -> None:
    backup = production.one("ScheduledBackup", f"{CLUSTER}-backup").obj["spec"]
    assert len(backup["schedule"].split()) == 6, "CloudNativePG's cron has seconds first"
    assert backup["schedule"] == "0 0 1 * * *"
    assert backup["method"] == "plugin"
    assert backup["pluginConfiguration"] == {"name": PLUGIN}
    assert backup["cluster"] == {"name": CLUSTER}
    assert backup["immediate"] is True


def test_the_pooler_is_pgbouncer_in_transaction_mode_in_front_of_the_primary(production: Rendered) -> None:
    pooler = production.one("Pooler", POOLER).obj
    spec = pooler["spec"]
    assert spec["cluster"] == {"name": CLUSTER}
    assert spec["type"] == "rw"
    assert spec["pgbouncer"]["poolMode"] == "transaction"
    assert spec["pgbouncer"]["parameters"] == {
        "default_pool_size": "25",
        "max_client_conn": "1000",
        "max_prepared_statements": "200",
        "reserve_pool_size": "5",
    }
    assert spec["deploymentStrategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    (container,) = spec["template"]["spec"]["containers"]
    assert container["name"] == "pgbouncer", "the operator finds its container by this name"
    assert container["resources"]["limits"]["memory"]
    assert "helm.sh/resource-policy" not in (pooler["metadata"].get("annotations") or {}), "it holds no data"


# ---------------------------------------------------------------------------------------------
# network policies


def admitted(policy: Obj, pod_labels: dict[str, str], port: int) -> bool:
    """Whether a pod of this namespace with these labels may open ``port`` on the policy's pods."""
    for rule in policy["spec"].get("ingress") or []:
        ports = {p["port"] for p in rule.get("ports") or []}
        if ports and port not in ports:
            continue
        for peer in rule["from"]:
            in_namespace = "podSelector" in peer and "namespaceSelector" not in peer
            if in_namespace and chartlib.matches(peer["podSelector"], pod_labels):
                return True
    return False


def reaches(policy: Obj, pod_labels: dict[str, str], port: int) -> bool:
    """Whether the egress rules of a Docket pod's policy let it open ``port`` on a pod with these labels."""
    for rule in policy["spec"]["egress"]:
        if port not in {p["port"] for p in rule.get("ports") or []}:
            continue
        if any(
            "podSelector" in peer and chartlib.matches(peer["podSelector"], pod_labels) for peer in rule["to"]
        ):
            return True
    return False


def test_docket_pods_reach_exactly_the_cnpg_pods_they_connect_to(production: Rendered) -> None:
    pods = chartlib.cnpg_pods(production)
    primary = pods[f"{CLUSTER}-1"]
    standby = pods[f"{CLUSTER}-2"]
    pgbouncer = pods[f"{POOLER}-0"]
    policies = {
        (m.obj["spec"]["podSelector"].get("matchLabels") or {}).get("app.kubernetes.io/component")
        or "backup": m.obj
        for m in production.of_kind("NetworkPolicy")
        if not chartlib.is_cnpg_policy(m.obj)
    }
    expected = {
        # component: (pgbouncer, instances)
        "api": (True, True),  # readFromReplicas: the standbys too
        "worker": (True, True),  # LISTEN at the primary
        "migrate": (False, True),
        "backup": (False, True),
        "web": (False, False),
    }
    for component, (to_pooler, to_instances) in expected.items():
        policy = policies[component]
        assert reaches(policy, pgbouncer, 5432) == to_pooler, component
        assert reaches(policy, primary, 5432) == to_instances, component
        assert reaches(policy, standby, 5432) == to_instances, component
        assert not any(
            peer.get("ipBlock", {}).get("cidr") == "10.20.0.0/24"
            for rule in policy["spec"]["egress"]
            for peer in rule["to"]
        ), f"{component}: networkPolicy.egress.postgresql is for external mode"


def test_the_api_reaches_no_instance_without_read_replicas(renderer: Renderer) -> None:
    manifests = render(renderer, cnpg_values())
    api = next(m.obj for m in manifests if m.kind == "NetworkPolicy" and m.name == "docket-api")
    rendered = Rendered(chartlib.Case("x", "docket"), manifests, "")
    pods = chartlib.cnpg_pods(rendered)
    assert reaches(api, pods[f"{POOLER}-0"], 5432)
    assert not reaches(api, pods[f"{CLUSTER}-1"], 5432)
    assert "DATABASE_READ_URL" not in {
        e["name"] for e in workload_env(one(manifests, "Deployment", "docket-api"))
    }


def test_the_cnpg_pods_admit_the_operator_each_other_and_only_the_docket_pods_that_connect(
    production: Rendered,
) -> None:
    policies = {m.name: m.obj for m in production.of_kind("NetworkPolicy") if chartlib.is_cnpg_policy(m.obj)}
    assert set(policies) == {CLUSTER, POOLER}
    docket = {
        m.obj["metadata"]["labels"]["app.kubernetes.io/component"]: t["metadata"]["labels"]
        for m in production.manifests
        if (t := chartlib.pod_template(m.obj)) is not None
    }
    assert set(docket) == {"api", "web", "worker", "migrate", "backup", "backup-verify"}
    instances, pgbouncer = policies[CLUSTER], policies[POOLER]
    assert {c for c, labels in docket.items() if admitted(instances, labels, 5432)} == {
        "api",
        "worker",
        "migrate",
        "backup",
        "backup-verify",
    }
    assert {c for c, labels in docket.items() if admitted(pgbouncer, labels, 5432)} == {"api", "worker"}
    assert not any(admitted(instances, labels, 8000) for labels in docket.values()), "the instance manager"
    pods = chartlib.cnpg_pods(production)
    assert admitted(instances, pods[f"{CLUSTER}-2"], 5432), "replication"
    assert admitted(instances, pods[f"{POOLER}-0"], 5432), "PgBouncer's server connections"
    for policy in (instances, pgbouncer):
        assert policy["spec"]["policyTypes"] == ["Ingress"], (
            "the instances reach the API server and S3 themselves"
        )
        operator = policy["spec"]["ingress"][0]["from"][0]
        assert operator == {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}}
        }
        assert "ports" not in policy["spec"]["ingress"][0], "the operator uses 8000 and 5432"
    metrics = {p["port"] for r in instances["spec"]["ingress"] for p in r.get("ports") or []}
    assert 9187 in metrics
    assert 9127 in {p["port"] for r in pgbouncer["spec"]["ingress"] for p in r.get("ports") or []}


def test_the_pod_monitors_scrape_the_exporters_of_the_instances_and_of_pgbouncer(
    production: Rendered,
) -> None:
    monitors = {m.name: m.obj for m in production.of_kind("PodMonitor")}
    assert set(monitors) == {CLUSTER, POOLER}
    pods = chartlib.cnpg_pods(production)
    for name, monitor in monitors.items():
        selected = {p for p, labels in pods.items() if chartlib.matches(monitor["spec"]["selector"], labels)}
        expected = {
            p
            for p, labels in pods.items()
            if labels["cnpg.io/podRole"] == ("instance" if name == CLUSTER else "pooler")
        }
        assert selected == expected, name
        assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"], (
            "the operator's port name"
        )


def test_the_alerts_watch_wal_archiving_and_the_standbys(production: Rendered, renderer: Renderer) -> None:
    (rule,) = production.of_kind("PrometheusRule")
    groups = {g["name"]: {r["alert"]: r for r in g["rules"]} for g in rule.obj["spec"]["groups"]}
    alerts = groups["docket.postgresql"]
    assert set(alerts) == {
        "DocketPostgresWalArchivingFailing",
        "DocketPostgresReplicationLag",
        "DocketPostgresReplicaNotStreaming",
    }
    for name, alert in alerts.items():
        pods = re.findall(r'pod=~"([^"]+)"', alert["expr"])
        assert pods, name
        for pattern in pods:
            matched = {p for p in chartlib.cnpg_pods(production) if re.fullmatch(pattern, p)}
            assert matched == {f"{CLUSTER}-1", f"{CLUSTER}-2", f"{CLUSTER}-3"}, f"{name} watches {matched}"
    assert alerts["DocketPostgresWalArchivingFailing"]["labels"]["severity"] == "critical"
    assert "> 60" in alerts["DocketPostgresReplicationLag"]["expr"]
    external = chartlib.CASES_BY_ID["docket-production"]
    (plain,) = renderer.render(external).of_kind("PrometheusRule")
    assert "docket.postgresql" not in {g["name"] for g in plain.obj["spec"]["groups"]}


# ---------------------------------------------------------------------------------------------
# the migration: a hook once the Cluster exists, an ordinary waiting Job before


def migration_jobs(files: dict[str, str], phase: str = "expand") -> list[Manifest]:
    return [
        m
        for m in chartlib.manifests_of(files)
        if m.kind == "Job"
        and m.obj["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
        and m.obj["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate", "--phase", phase]
    ]


def test_the_migration_is_a_hook_once_the_clusters_app_secret_exists(renderer: Renderer) -> None:
    """`lookup` for real, against a minimal API server holding what the operator writes."""
    values = cnpg_values()
    cluster = kubeapi.Cluster()
    with kubeapi.serve(cluster, NAMESPACE) as config:
        (before,) = migration_jobs(renderer.render_in_cluster("docket", values, config))
        cluster.add(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": f"{CLUSTER}-app", "namespace": NAMESPACE},
                "data": {"username": "ZG9ja2V0", "password": "cGFzc3dvcmQ="},
            }
        )
        after_files = renderer.render_in_cluster("docket", values, config, upgrade=True)
        (after,) = migration_jobs(after_files)
        (contract,) = migration_jobs(after_files, "contract")
    assert f"/api/v1/namespaces/{NAMESPACE}/secrets/{CLUSTER}-app" in cluster.requests
    assert not before.is_hook
    assert re.fullmatch(r"docket-api-migrate-[0-9a-f]{8}", before.name)
    assert after.is_hook
    assert after.name == "docket-api-migrate"
    assert after.annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert contract.name == "docket-api-migrate-contract"
    assert contract.annotations["helm.sh/hook"] == "post-install,post-upgrade"
    for job in (before, after):
        pod = job.obj["spec"]["template"]["spec"]
        assert [c["name"] for c in pod["initContainers"]] == ["wait-for-database"], (
            "a failover may be under way"
        )
    hooks = [
        m
        for m in chartlib.manifests_of(after_files)
        if m.is_hook and m.obj["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
    ]
    for when in ("pre-install,pre-upgrade", "post-install,post-upgrade"):
        kinds = {m.kind for m in hooks if m.annotations["helm.sh/hook"] == when}
        assert kinds == {"Job", "ServiceAccount", "NetworkPolicy"}, when


def test_a_new_pod_spec_is_a_new_job_name(renderer: Renderer) -> None:
    """Jobs are immutable: the ordinary Job changes its name with its pod, so an upgrade creates it anew."""
    first = migration_jobs(renderer.render_values("docket", cnpg_values()))[0].name
    same = migration_jobs(renderer.render_values("docket", cnpg_values()))[0].name
    retagged = migration_jobs(
        renderer.render_values("docket", merge(cnpg_values(), {"global": {"image": {"tag": "1.2.3"}}}))
    )[0].name
    assert first == same
    assert first != retagged


def test_the_wait_accepts_a_schema_behind_and_repeats_on_no_connection() -> None:
    """`docket-api migrate --status` exits 0 (current), 3 (behind: connected), 1 (no connection) or 2."""
    script = _wait_script()
    for code, waits in ((0, False), (3, False), (1, True), (2, True)):
        # a stand-in docket-api with that exit status, and a sleep that ends the loop after one round
        fake = f"docket_api() {{ return {code}; }}; alias docket-api=docket_api; sleep() {{ exit 7; }}; "
        result = subprocess.run(
            ["sh", "-c", fake + script.replace("docket-api", "docket_api")],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert (result.returncode == 7) == waits, (code, result.returncode, result.stdout)


def _wait_script() -> str:
    import yaml

    text = (chartlib.CHARTS / "api" / "templates" / "migration-job.yaml").read_text()
    (line,) = [ln for ln in text.splitlines() if "until docket-api migrate --status" in ln]
    return str(yaml.safe_load(line.strip().removeprefix("- ")))


# ---------------------------------------------------------------------------------------------
# point-in-time recovery


def test_a_recovery_is_a_new_cluster_from_the_old_ones_backups(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["docket-cnpg-recovery"])
    cluster = rendered.one("Cluster", "docket-pg-restored").obj["spec"]
    assert cluster["bootstrap"] == {
        "recovery": {
            "source": "origin",
            "database": "docket",
            "owner": "docket",
            "recoveryTarget": {"targetTime": "2025-05-04T09:30:00Z"},
        }
    }
    assert cluster["externalClusters"] == [
        {
            "name": "origin",
            "plugin": {"name": PLUGIN, "parameters": {"barmanObjectName": STORE, "serverName": CLUSTER}},
        }
    ]
    assert cluster["plugins"][0]["parameters"] == {"barmanObjectName": STORE}, (
        "it archives under its own name"
    )
    assert cluster["managed"]["roles"][0]["createdb"] is True
    api = rendered.one("Deployment", "docket-api")
    assert (
        target(workload_env(api), "DATABASE_URL")["host"] == f"docket-pg-restored-pooler-rw.{NAMESPACE}.svc"
    )
    assert rendered.names("Pooler") == {"docket-pg-restored-pooler-rw"}
    assert not rendered.of_kind("NetworkPolicy") or all(
        not chartlib.is_cnpg_policy(p.obj) for p in rendered.of_kind("NetworkPolicy")
    ), "postgresql.cnpg.networkPolicy.enabled=false"


def test_without_backups_there_is_no_object_store_and_notes_warn(renderer: Renderer) -> None:
    values = cnpg_values(
        backup={"enabled": False, "objectStore": {"destinationPath": "", "existingSecret": ""}}
    )
    files = renderer.render_values("docket", values)
    manifests = chartlib.manifests_of(files)
    kinds = {m.kind for m in manifests}
    assert "ObjectStore" not in kinds
    assert "ScheduledBackup" not in kinds
    assert "plugins" not in one(manifests, "Cluster").obj["spec"]
    assert "no point-in-time" in chartlib.notes_of(files, "docket")
    assert "CronJob" in kinds, "the nightly pg_dump stays, the logical second line"


# ---------------------------------------------------------------------------------------------
# refusals


REFUSED_SCHEMA = [
    pytest.param(
        {"global": {"postgresql": {"mode": "operator"}}}, "global.postgresql.mode", id="unknown-mode"
    ),
    pytest.param({"postgresql": {"cnpg": {"instances": 0}}}, "postgresql.cnpg.instances", id="no-instances"),
    pytest.param(
        {"postgresql": {"cnpg": {"backup": {"schedule": "0 3 * * *"}}}},
        "postgresql.cnpg.backup.schedule",
        id="five-field-cron",
    ),
    pytest.param(
        {"postgresql": {"cnpg": {"backup": {"retentionPolicy": "30 days"}}}},
        "postgresql.cnpg.backup.retentionPolicy",
        id="retention",
    ),
    pytest.param(
        {"postgresql": {"cnpg": {"backup": {"objectStore": {"destinationPath": "docket-backups"}}}}},
        "postgresql.cnpg.backup.objectStore.destinationPath",
        id="not-s3",
    ),
    pytest.param(
        {"postgresql": {"cnpg": {"parameters": {"max_connections": 200}}}},
        "max_connections",
        id="parameter-not-a-string",
    ),
    pytest.param({"postgresql": {"cnpg": {"instaces": 3}}}, "instaces", id="typo"),
    pytest.param(
        {"global": {"postgresql": {"cluster": "Docket_PG"}}}, "global.postgresql.cluster", id="cluster-name"
    ),
]


@pytest.mark.parametrize(("values", "field"), REFUSED_SCHEMA)
def test_the_schema_refuses_naming_the_value(renderer: Renderer, values: dict[str, Any], field: str) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        renderer.render_values("docket", merge(cnpg_values(), values))
    message = str(caught.value)
    assert field.replace(".", "/") in message or field in message, message


REFUSED = [
    pytest.param(
        cnpg_values(backup={"objectStore": {"destinationPath": ""}}),
        "postgresql.cnpg.backup.objectStore.destinationPath is required with postgresql.cnpg.backup.enabled",
        id="no-bucket",
    ),
    pytest.param(
        cnpg_values(backup={"objectStore": {"existingSecret": ""}}),
        "postgresql.cnpg.backup.objectStore.existingSecret is required",
        id="no-secret",
    ),
    pytest.param(
        cnpg_values(
            backup={"enabled": False, "objectStore": {"destinationPath": ""}},
            recovery={"enabled": True, "sourceCluster": "old"},
        ),
        "objectStore.destinationPath is required with postgresql.cnpg.recovery.enabled",
        id="recovery-without-a-store",
    ),
    pytest.param(
        cnpg_values(recovery={"enabled": True}),
        "postgresql.cnpg.recovery.sourceCluster is required",
        id="recovery-without-source",
    ),
    pytest.param(
        cnpg_values(recovery={"enabled": True, "sourceCluster": CLUSTER}),
        'postgresql.cnpg.recovery.sourceCluster is "docket-postgresql", the Cluster being created',
        id="recovery-onto-itself",
    ),
    pytest.param(
        merge(cnpg_values(instances=1), {"global": {"postgresql": {"readFromReplicas": True}}}),
        "global.postgresql.readFromReplicas needs a hot standby, but postgresql.cnpg.instances is 1",
        id="read-replicas-of-one",
    ),
    pytest.param(
        cnpg_values(synchronousReplicas=3),
        "postgresql.cnpg.synchronousReplicas (3) must be below",
        id="sync-all",
    ),
    pytest.param(
        {"worker": {"config": {"DATABASE_POOLER": "transaction"}}},
        "config.DATABASE_POOLER=transaction needs global.postgresql.mode=cnpg",
        id="transaction-pooler-in-external-mode",
    ),
    pytest.param(
        cnpg_values(pooler={"parameters": {"pool_mode": "session"}}),
        "postgresql.cnpg.pooler.parameters.pool_mode is set by the chart",
        id="session-pooling",
    ),
]


@pytest.mark.parametrize(("values", "message"), REFUSED)
def test_values_that_cannot_work_are_refused_naming_the_value(
    renderer: Renderer, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm.HelmRenderError) as caught:
        renderer.render_values("docket", values)
    assert message in str(caught.value)


# ---------------------------------------------------------------------------------------------
# the connection budget


def budget_error(renderer: Renderer, values: dict[str, Any]) -> str:
    with pytest.raises(helm.HelmRenderError) as caught:
        renderer.render_values("docket", values)
    return str(caught.value)


def test_the_pooler_must_take_every_client_with_one_pod_down(renderer: Renderer) -> None:
    # api and worker: 3 pods each (2 replicas + 1 surging) x 10 = 60 clients; 2 PgBouncer pods of 40, one down
    values = cnpg_values(pooler={"instances": 2, "maxClientConnections": 40})
    message = budget_error(renderer, values)
    assert "connections to the PgBouncer pooler" in message
    capacity = "max(1, postgresql.cnpg.pooler.instances - 1) x postgresql.cnpg.pooler.maxClientConnections"
    assert "60 connections to the PgBouncer pooler (api 31 = 3 pods x 1 process x " in message
    assert f"more than its pods take with one of them down: 40 = {capacity} (1 x 40)" in message
    renderer.render_values("docket", cnpg_values(pooler={"instances": 3, "maxClientConnections": 40}))


def test_the_primary_counts_pgbouncers_server_pools_the_direct_connections_and_the_reserve(
    renderer: Renderer,
) -> None:
    files = renderer.render_values("docket", cnpg_values())
    notes = chartlib.notes_of(files, "docket")
    # (2 + 1) x (20 + 5) = 75 from PgBouncer; 3 worker pods' LISTEN + backup 3 + migration 1 = 7; 10 reserved
    assert "on the primary 92 of\nmax_connections 200 (75 from PgBouncer, 7 direct, 10 reserved)" in notes
    message = budget_error(renderer, cnpg_values(parameters={"max_connections": "91"}))
    assert (
        "the primary would need 92 connections, more than postgresql.cnpg.parameters.max_connections (91)"
        in message
    )
    renderer.render_values("docket", cnpg_values(parameters={"max_connections": "92"}))


def test_a_standby_must_take_every_read_pool(renderer: Renderer) -> None:
    values = merge(
        cnpg_values(parameters={"max_connections": "100"}),
        {"global": {"postgresql": {"readFromReplicas": True}}},
    )
    values = merge(values, {"api": {"autoscaling": {"enabled": True, "maxReplicas": 8}}})
    # api (8 + 2 surge) x 10 = 100 read connections + 10 reserved > 100
    message = budget_error(renderer, values)
    assert "DATABASE_READ_URL pools can open 100 connections" in message
    assert "global.postgresql.readFromReplicas=false" in message


def test_the_deployment_annotation_counts_every_route(production: Rendered) -> None:
    api = production.one("Deployment", "docket-api")
    # (20 + 5) pods x 10 through the pooler, x 10 to the standbys, + the migration
    assert api.annotations["docket/postgresql-connections"] == "501"
    notes = production.notes
    pools = "(10 through the pooler + 0 to -rw + 10 to -ro)"
    assert f"api: 501 = 25 pods x 1 process x {pools} + 1 for Jobs (to -rw)" in notes


def test_external_mode_keeps_its_budget_against_max_connections(renderer: Renderer) -> None:
    message = budget_error(renderer, {"postgresql": {"maxConnections": 10}})
    assert "more than postgresql.maxConnections (10)" in message


# ---------------------------------------------------------------------------------------------
# a service chart alone


def test_a_service_chart_alone_points_at_a_named_cluster(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["worker-cnpg-standalone"])
    worker = rendered.one("Deployment", "docket-worker")
    assert target(workload_env(worker), "DATABASE_URL")["host"] == f"shared-pg-pooler-rw.{NAMESPACE}.svc"
    assert target(workload_env(worker), "DATABASE_LISTEN_URL")["host"] == f"shared-pg-rw.{NAMESPACE}.svc"
    secret = rendered.one("Secret", "docket-worker")
    assert "DATABASE_URL" not in secret.obj["data"], "the chart's Secret holds no database URL in cnpg mode"
