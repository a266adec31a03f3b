"""Each pod and Job gets only the settings and secrets it reads (SETTINGS-13.md, "Which pod reads what"),
and reaches only the peers it needs."""

from __future__ import annotations

from typing import Any

import chartlib
import pytest
import yaml
from chartlib import CASES, CHARTS, Manifest, Rendered, Renderer
from helm_commands import merge

# what a pod must never see, whatever the values
NEVER = {
    "api": {"CSRF_SECRET", "API_URL", "WORKER_CONCURRENCY", "BACKUP_DIR"},
    "web": {
        "DATABASE_URL",
        "DB_POOL_MIN_SIZE",
        "DB_POOL_MAX_SIZE",
        "DB_POOL_TIMEOUT",
        "DB_STATEMENT_TIMEOUT_MS",
        "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
        "JWT_SECRET",
        "JWT_SECRET_PREVIOUS",
        "QUOTA_STORED_BYTES",
    },
    "worker": {
        "JWT_SECRET",
        "JWT_SECRET_PREVIOUS",
        "CSRF_SECRET",
        "TRUSTED_PROXIES",
        "CORS_ORIGINS",
        "BACKUP_DIR",
    },
}
# the secrets each pod reads from Docket's Secret, by name (external mode, Redis by REDIS_URL)
SECRET_KEYS = {
    "api": {
        "DATABASE_URL",
        "DATABASE_READ_URL",
        "REDIS_URL",
        "JWT_SECRET",
        "JWT_SECRET_PREVIOUS",
        "SENTRY_DSN",
    },
    "web": {"REDIS_URL", "CSRF_SECRET", "SENTRY_DSN"},
    "worker": {"DATABASE_URL", "DATABASE_LISTEN_URL", "REDIS_URL", "SENTRY_DSN"},
    "migrate": {"DATABASE_URL"},
    "backup": {"DATABASE_URL"},
    "backup-verify": {"DATABASE_URL"},
}
DATABASE_URLS = {"DATABASE_URL", "DATABASE_READ_URL", "DATABASE_LISTEN_URL"}
# cnpg mode: the user and password of the Cluster's app Secret, from which the kubelet builds the URLs
CNPG_CREDENTIALS = {"CNPG_APP_USERNAME", "CNPG_APP_PASSWORD"}
SENTINEL_CONFIG = {"REDIS_SENTINELS", "REDIS_SENTINEL_MASTER"}


def _global(rendered: Rendered) -> dict[str, Any]:
    return rendered.case.values.get("global") or {}


def cnpg(rendered: Rendered) -> bool:
    return bool(_global(rendered).get("postgresql", {}).get("mode") == "cnpg")


def sentinels(rendered: Rendered) -> bool:
    return bool(_global(rendered).get("redis", {}).get("sentinels"))


def expected_secret_keys(rendered: Rendered, name: str) -> set[str]:
    """The keys of Docket's Secret a component reads in the case's modes (with Redis Sentinel REDIS_URL
    stays, optional, for the password, user, database number and TLS)."""
    keys = set(SECRET_KEYS[name])
    if cnpg(rendered):
        keys -= DATABASE_URLS
    return keys


def cnpg_urls(rendered: Rendered, name: str) -> set[str]:
    """The database URLs a component gets as values (not secrets) in cnpg mode."""
    if not cnpg(rendered):
        return set()
    if name == "api":
        read = _global(rendered)["postgresql"].get("readFromReplicas")
        return {"DATABASE_URL", "DATABASE_READ_URL"} if read else {"DATABASE_URL"}
    if name == "worker":
        return {"DATABASE_URL", "DATABASE_LISTEN_URL"}
    return {"DATABASE_URL"} if name in ("migrate", "backup", "backup-verify") else set()


MIGRATION_ENV = {"ENVIRONMENT", "LOG_LEVEL", "DATABASE_URL"}
BACKUP_ENV = {
    "ENVIRONMENT",
    "LOG_LEVEL",
    "DATABASE_URL",
    "BACKUP_DIR",
    "BACKUP_RETENTION_DAYS",
    "BACKUP_KEEP_MIN",
    "BACKUP_LOCK_WAIT_SECONDS",
    "BACKUP_PROGRESS_INTERVAL_SECONDS",
}
BACKUP_S3_ENV = {"BACKUP_S3_URL", "BACKUP_S3_CREDENTIALS_DIR", "BACKUP_S3_REGION"}


def component(manifest: Manifest) -> str:
    template = chartlib.pod_template(manifest.obj)
    assert template is not None
    return str(template["metadata"]["labels"]["app.kubernetes.io/component"])


def environment(rendered: Rendered, manifest: Manifest) -> dict[str, Any]:
    """Every variable a workload's container gets: its env entries and the ConfigMaps it loads whole."""
    template = chartlib.pod_template(manifest.obj)
    assert template is not None
    (container,) = template["spec"]["containers"]
    found: dict[str, Any] = {e["name"]: e for e in container.get("env") or []}
    for source in container.get("envFrom") or []:
        assert "secretRef" not in source, f"{manifest.name} loads a whole Secret"
        for key in rendered.one("ConfigMap", source["configMapRef"]["name"]).obj["data"]:
            assert key not in found, f"{manifest.name}: {key} twice"
            found[key] = {"name": key, "configMap": source["configMapRef"]["name"]}
    return found


def secret_keys(env: dict[str, Any]) -> set[str]:
    """The variables read from Docket's Secret (not from the CloudNativePG Cluster's app Secret)."""
    return {
        name
        for name, e in env.items()
        if "secretKeyRef" in (e.get("valueFrom") or {}) and name not in CNPG_CREDENTIALS
    }


def cnpg_credentials(env: dict[str, Any], cluster: str) -> set[str]:
    """The variables read from the Cluster's "<cluster>-app" Secret: its user name and password only."""
    found = set()
    for name in CNPG_CREDENTIALS & set(env):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == f"{cluster}-app", ref
        assert ref["key"] == {"CNPG_APP_USERNAME": "username", "CNPG_APP_PASSWORD": "password"}[name]
        found.add(name)
    return found


def set_config(values: dict[str, Any]) -> set[str]:
    """The config keys a chart's values set (null and empty ones are left out of the ConfigMap)."""
    return {key for key, value in values["config"].items() if value not in (None, "", [])}


def chart_values(rendered: Rendered, chart: str) -> dict[str, Any]:
    defaults = yaml.safe_load((CHARTS / chart / "values.yaml").read_text())
    own = rendered.case.values if rendered.case.chart == chart else rendered.case.values.get(chart, {})
    return merge(defaults, own)


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in CASES
        if c.id
        in (
            "docket-production",
            "docket-defaults",
            "docket-observability",
            "docket-production-cnpg",
            "docket-cnpg-recovery",
            "docket-redis-sentinel",
        )
    ],
    ids=str,
)
def test_each_workload_gets_exactly_the_settings_and_secrets_it_reads(
    renderer: Renderer, case: chartlib.Case
) -> None:
    rendered = renderer.render(case)
    cluster = (rendered.of_kind("Cluster") or [None])[0]
    seen = set()
    for manifest in rendered.manifests:
        if chartlib.pod_template(manifest.obj) is None:
            continue
        name = component(manifest)
        seen.add(name)
        env = environment(rendered, manifest)
        keys = set(env)
        expected_secrets = expected_secret_keys(rendered, name)
        assert secret_keys(env) == expected_secrets, f"{manifest.name} reads secrets {secret_keys(env)}"
        urls = cnpg_urls(rendered, name)
        credentials = CNPG_CREDENTIALS if urls else set()
        if cluster is not None:
            assert cnpg_credentials(env, cluster.name) == credentials, manifest.name
        for url in urls:
            assert "value" in env[url], (
                f"{manifest.name}: {url} is built from the app Secret, not read from one"
            )
        extra = urls | credentials
        if name == "migrate":
            assert keys == MIGRATION_ENV | extra, f"the migration Job gets {sorted(keys)}"
        elif name in ("backup", "backup-verify"):
            s3 = BACKUP_S3_ENV if chart_values(rendered, "worker")["backup"]["s3"]["url"] else set()
            assert keys == BACKUP_ENV | s3 | extra, f"{manifest.name} gets {sorted(keys)}"
        else:
            values = chart_values(rendered, name)
            expected = set_config(values) | {"ENVIRONMENT", "RELEASE"} | expected_secrets | extra
            if cnpg(rendered) and name in ("api", "worker"):
                expected.add("DATABASE_POOLER")  # transaction: DATABASE_URL is PgBouncer
            if sentinels(rendered):
                expected |= SENTINEL_CONFIG
            if name == "web":
                expected.add("API_URL")
            assert keys == expected, (
                f"{manifest.name}: extra {sorted(keys - expected)}, missing {sorted(expected - keys)}"
            )
            assert not keys & NEVER[name], f"{manifest.name} gets {sorted(keys & NEVER[name])}"
    assert seen >= {"api", "web", "worker", "migrate", "backup"}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_no_pod_sees_another_services_secrets(renderer: Renderer, case: chartlib.Case) -> None:
    rendered = renderer.render(case)
    for manifest in rendered.manifests:
        if chartlib.pod_template(manifest.obj) is None:
            continue
        keys = set(environment(rendered, manifest))
        name = component(manifest)
        assert secret_keys(environment(rendered, manifest)) <= expected_secret_keys(rendered, name)
        if name in ("web",) or not cnpg(rendered):
            assert not keys & CNPG_CREDENTIALS, f"{manifest.name} reads the Cluster's app Secret"
        if name == "web":
            assert "DATABASE_URL" not in keys, "the web never talks to PostgreSQL"
        if name in ("migrate", "backup", "backup-verify"):
            assert not keys & {"REDIS_URL", "JWT_SECRET", "JWT_SECRET_PREVIOUS", "CSRF_SECRET", "SENTRY_DSN"}
            assert not keys & {
                "REDIS_PASSWORD",
                "REDIS_SENTINELS",
                "DATABASE_READ_URL",
                "DATABASE_LISTEN_URL",
            }
            assert not {k for k in keys if k.startswith(("WORKER_", "RATE_LIMIT_", "JWT_"))}, manifest.name


def test_the_chart_created_secrets_hold_only_their_pods_keys(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["docket-defaults"])
    data = {m.name: set(m.obj["data"]) for m in rendered.of_kind("Secret")}
    assert data == {
        "docket-api": {"DATABASE_URL", "REDIS_URL", "JWT_SECRET"},
        "docket-api-migrate": {"DATABASE_URL"},
        "docket-api-migrate-contract": {"DATABASE_URL"},
        "docket-web": {"REDIS_URL", "CSRF_SECRET"},
        "docket-worker": {"DATABASE_URL", "REDIS_URL"},
    }


def test_the_backup_jobs_reach_the_pushgateway_only_when_told(renderer: Renderer) -> None:
    def backup_policy(values: dict[str, Any]) -> list[dict[str, Any]]:
        files = renderer.render_values("worker", values)
        policy = next(
            m
            for m in chartlib.manifests_of(files)
            if m.name == "docket-worker-backup" and m.kind == "NetworkPolicy"
        )
        return policy.obj["spec"]["egress"]  # type: ignore[no-any-return]

    assert not [r for r in backup_policy({}) if 9091 in {p["port"] for p in r["ports"]}]
    pushing = {
        "backup": {"config": {"PUSHGATEWAY_URL": "http://pushgateway.monitoring:9091"}},
        "networkPolicy": {"egress": {"pushgateway": {"enabled": True}}},
    }
    (rule,) = [r for r in backup_policy(pushing) if 9091 in {p["port"] for p in r["ports"]}]
    assert rule["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
    notes = chartlib.notes_of(renderer.render_values("worker", {"backup": pushing["backup"]}), "worker")
    assert "networkPolicy.egress.pushgateway.enabled is false" in notes
    worker = next(
        m
        for m in chartlib.manifests_of(renderer.render_values("worker", pushing))
        if m.name == "docket-worker" and m.kind == "NetworkPolicy"
    )
    assert 9091 not in {p["port"] for r in worker.obj["spec"]["egress"] for p in r["ports"]}, (
        "only the backup Jobs push"
    )
