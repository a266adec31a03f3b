"""Every chart renders with real Helm over the value matrix, and each case renders what it promises."""

from __future__ import annotations

import base64
import re

import chartlib
import helm_python as helm
import pytest
from chartlib import CASES, NAMESPACE, Case, Rendered, Renderer


def _env(container: dict[str, object]) -> dict[str, object]:
    return {e["name"]: e for e in container.get("env") or []}  # type: ignore[index,union-attr]


def _main_container(rendered: Rendered, name: str) -> dict[str, object]:
    deployment = rendered.one("Deployment", name).obj
    return deployment["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_renders_named_namespaced_objects_once(renderer: Renderer, case: Case) -> None:
    rendered = renderer.render(case)
    assert rendered.manifests, f"{case.id} rendered nothing"
    seen: set[tuple[str, str]] = set()
    for manifest in rendered.manifests:
        obj = manifest.obj
        assert {"apiVersion", "kind", "metadata"} <= obj.keys(), manifest.template
        key = (manifest.kind, manifest.name)
        assert key not in seen, f"{case.id}: {key} rendered twice"
        seen.add(key)
        assert obj["metadata"].get("namespace") == NAMESPACE, f"{case.id}: {key} has no namespace"
        assert len(manifest.name) <= 63, f"{case.id}: {key} name is too long"
    assert rendered.notes.strip(), f"{case.id}: NOTES.txt is empty"
    # Helm reads every number as a float: none may reach a manifest as 1.2e+06
    for path, text in rendered.files.items():
        found = re.search(r"\b[0-9]+(\.[0-9]+)?e[+-][0-9]+\b", text)
        assert found is None, f"{case.id}: {path} prints {found.group(0) if found else ''}"


def test_defaults_render_the_whole_application(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["docket-defaults"])
    assert rendered.names("Deployment") == {"docket-api", "docket-web", "docket-worker"}
    assert rendered.names("Service") == {"docket-api", "docket-web"}
    assert rendered.names("Ingress") == {"docket-api", "docket-web"}
    assert rendered.names("CronJob") == {"docket-worker-backup"}
    assert rendered.names("Job") == {"docket-api-migrate", "docket-api-migrate-contract"}
    assert rendered.names("PodDisruptionBudget") == {"docket-api", "docket-web", "docket-worker"}
    assert rendered.names("NetworkPolicy") == {
        "docket-api",
        "docket-api-migrate",
        "docket-api-migrate-contract",
        "docket-web",
        "docket-worker",
        "docket-worker-backup",
    }
    assert not rendered.of_kind("HorizontalPodAutoscaler"), "autoscaling is opt-in"
    assert not rendered.of_kind("ServiceMonitor"), "monitoring is opt-in"
    assert not rendered.of_kind("PrometheusRule"), "monitoring is opt-in"
    claim = rendered.one("PersistentVolumeClaim", "docket-worker-backups")
    assert claim.annotations["helm.sh/resource-policy"] == "keep"
    assert claim.is_hook, "the backup claim is a hook, so helm install --wait does not wait for it to bind"
    assert rendered.names("Secret") == {
        "docket-api",
        "docket-api-migrate",
        "docket-api-migrate-contract",
        "docket-web",
        "docket-worker",
    }
    web_config = rendered.one("ConfigMap", "docket-web").obj["data"]
    assert web_config["API_URL"] == "http://docket-api:8000", "web must reach the api Service of the release"


def test_production_uses_the_existing_secret_tls_hpa_pdb_and_monitoring(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["docket-production"])
    assert not rendered.of_kind("Secret"), "production with global.existingSecret creates no Secret"
    for name in ("docket-api", "docket-web", "docket-worker"):
        for env in _env(_main_container(rendered, name)).values():
            ref = env.get("valueFrom", {}).get("secretKeyRef")  # type: ignore[attr-defined]
            if ref:
                assert ref["name"] == "docket-secrets"
        config = rendered.one("ConfigMap", name).obj["data"]
        assert config["ENVIRONMENT"] == "production"
        assert config["RELEASE"] == "0.1.0"
        deployment = rendered.one("Deployment", name).obj
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == f"registry.example.com/docket/docket-{name.split('-')[1]}:0.1.0"
    for name in ("docket-api", "docket-web"):
        hpa = rendered.one("HorizontalPodAutoscaler", name).obj
        assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
        assert "replicas" not in rendered.one("Deployment", name).obj["spec"], (
            "the HPA owns the replica count"
        )
        ingress = rendered.one("Ingress", name)
        assert ingress.annotations["cert-manager.io/cluster-issuer"] == "letsencrypt"
        assert ingress.obj["spec"]["tls"][0]["hosts"] == ["docket.example.com"]
    assert rendered.names("PodDisruptionBudget") == {"docket-api", "docket-web", "docket-worker"}
    assert rendered.names("ServiceMonitor") == {"docket-api", "docket-web", "docket-worker"}
    assert rendered.names("PrometheusRule") == {"docket"}
    dashboard = rendered.one("ConfigMap", "docket-dashboard")
    assert dashboard.obj["metadata"]["labels"]["grafana_dashboard"] == "1"
    backup_env = _env(
        rendered.one("CronJob", "docket-worker-backup").obj["spec"]["jobTemplate"]["spec"]["template"][
            "spec"
        ]["containers"][0]
    )
    assert backup_env["BACKUP_S3_URL"]["value"] == "s3://docket-backups/production"  # type: ignore[index]
    assert "docket-worker-backup-verify" in rendered.names("CronJob")


def test_production_with_a_chart_secret_keeps_the_real_values(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["api-production-chart-secret"])
    data = rendered.one("Secret", "docket-api").obj["data"]
    decoded = {key: base64.b64decode(value).decode() for key, value in data.items()}
    for key, value in chartlib.REAL_SECRETS.items():
        assert decoded[key] == value
    assert "JWT_SECRET_PREVIOUS" not in decoded, "an empty optional key is left out"


def test_existing_tls_secret_replaces_cert_manager(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["api-production-existing-tls"])
    ingress = rendered.one("Ingress", "docket-api")
    assert "cert-manager.io/cluster-issuer" not in ingress.annotations
    assert ingress.obj["spec"]["tls"] == [
        {"hosts": ["docket.example.com"], "secretName": "docket-example-com-tls"}
    ]


def _annotations(rendered: Rendered, name: str) -> dict[str, str]:
    return rendered.one("Ingress", name).annotations


def test_nginx_ingress_redirects_and_limits_the_api_harder_than_the_web(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["docket-nginx"])
    api, web = _annotations(rendered, "docket-api"), _annotations(rendered, "docket-web")
    prefix = "nginx.ingress.kubernetes.io/"
    for found in (api, web):
        assert found[prefix + "ssl-redirect"] == "true"
        assert found[prefix + "force-ssl-redirect"] == "true"
    # the edge accepts what the services accept: MAX_UPLOAD_BYTES plus 64 KiB of multipart framing,
    # UPLOAD_MAX_FILES times over for the web's upload form
    assert api[prefix + "proxy-body-size"] == str(20971520 + 65536)
    assert web[prefix + "proxy-body-size"] == str(10 * (20971520 + 65536))
    for key in ("limit-rps", "limit-burst-multiplier", "limit-connections"):
        assert int(api[prefix + key]) < int(web[prefix + key]), f"the API's {key} must be stricter"
    assert not rendered.of_kind("Middleware")
    paths = {
        m.name: (m.obj["spec"]["rules"][0]["host"], m.obj["spec"]["rules"][0]["http"]["paths"][0]["path"])
        for m in rendered.of_kind("Ingress")
    }
    assert paths == {"docket-api": ("docket.example.com", "/api"), "docket-web": ("docket.example.com", "/")}
    assert {m.obj["spec"]["ingressClassName"] for m in rendered.of_kind("Ingress")} == {"nginx"}


def test_traefik_ingress_uses_middlewares_that_exist(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["docket-traefik"])
    middlewares = {m.name: m.obj["spec"] for m in rendered.of_kind("Middleware")}
    limits = {}
    for name in ("docket-api", "docket-web"):
        annotations = _annotations(rendered, name)
        assert not any(key.startswith("nginx.ingress") for key in annotations)
        assert annotations["traefik.ingress.kubernetes.io/router.entrypoints"] == "web,websecure"
        refs = annotations["traefik.ingress.kubernetes.io/router.middlewares"].split(",")
        kinds = set()
        for ref in refs:
            assert ref.endswith("@kubernetescrd")
            assert ref.startswith(f"{NAMESPACE}-")
            middleware = ref.removeprefix(f"{NAMESPACE}-").removesuffix("@kubernetescrd")
            assert middleware in middlewares, f"{name} refers to a missing Middleware {middleware}"
            kinds |= middlewares[middleware].keys()
        assert kinds == {"redirectScheme", "headers", "buffering", "rateLimit", "inFlightReq"}
        spec = {k: v for ref in refs for k, v in middlewares[ref.split("-", 1)[1].split("@")[0]].items()}
        assert spec["redirectScheme"] == {"scheme": "https", "permanent": True}
        assert spec["headers"]["stsSeconds"] >= 31536000
        assert spec["headers"]["stsIncludeSubdomains"] is True
        files = 10 if name == "docket-web" else 1
        assert spec["buffering"]["maxRequestBodyBytes"] == files * (20971520 + 65536)
        limits[name] = (
            spec["rateLimit"]["average"],
            spec["rateLimit"]["burst"],
            spec["inFlightReq"]["amount"],
        )
        assert rendered.one("Ingress", name).obj["spec"]["ingressClassName"] == "traefik"
    assert all(a < w for a, w in zip(limits["docket-api"], limits["docket-web"], strict=True))
    policy = rendered.one("NetworkPolicy", "docket-api").obj
    namespaces = [
        peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        for rule in policy["spec"]["ingress"]
        for peer in rule["from"]
    ]
    assert "traefik" in namespaces, "the traefik namespace is admitted when ingress.controller=traefik"


def test_s3_backup_writes_to_scratch_and_mounts_the_credentials(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["worker-backup-s3"])
    assert not rendered.of_kind("PersistentVolumeClaim")
    for name in ("docket-worker-backup", "docket-worker-backup-verify"):
        cronjob = rendered.one("CronJob", name).obj
        assert cronjob["spec"]["timeZone"] == "Europe/Berlin"
        pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        env = _env(pod["containers"][0])
        assert env["BACKUP_S3_URL"]["value"] == "s3://docket-backups/staging"  # type: ignore[index]
        assert env["BACKUP_S3_ENDPOINT"]["value"] == "https://minio.example.com"  # type: ignore[index]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes["backups"]
        assert volumes["s3-credentials"]["secret"]["secretName"] == "docket-backup-s3"
    verify = rendered.one("CronJob", "docket-worker-backup-verify").obj
    args = verify["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["backup", "verify", "--latest", "--restore-test", "--from", "s3"]
    policy = rendered.one("NetworkPolicy", "docket-worker-backup").obj
    s3 = chartlib.CASES_BY_ID["worker-backup-s3"].values["backup"]["s3"]["egress"]
    assert {"to": s3["to"], "ports": [{"protocol": "TCP", "port": 9000}]} in policy["spec"]["egress"], (
        "the backup Jobs reach S3 (here MinIO) and only it on its port"
    )


def test_existing_claim_is_used_and_not_created(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["worker-backup-existing-claim"])
    assert not rendered.of_kind("PersistentVolumeClaim")
    for cronjob in rendered.of_kind("CronJob"):
        volumes = cronjob.obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
        claims = [v["persistentVolumeClaim"]["claimName"] for v in volumes if "persistentVolumeClaim" in v]
        assert claims == ["docket-backups"]


def test_backup_off_renders_no_cronjob_and_no_claim(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["worker-backup-off"])
    assert not rendered.of_kind("CronJob")
    assert not rendered.of_kind("PersistentVolumeClaim")
    assert rendered.names("NetworkPolicy") == {"docket-worker"}
    assert "takes no database backups" in rendered.notes


def test_networkpolicy_off_renders_none(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["docket-networkpolicy-off"])
    assert not rendered.of_kind("NetworkPolicy")


def test_single_replica_has_no_pdb(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["docket-single-replica"])
    assert not rendered.of_kind("PodDisruptionBudget")


def test_standalone_release_names_follow_the_release(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["api-standalone-release"])
    assert rendered.names("Deployment") == {"docket-api"}
    assert rendered.names("Job") == {"docket-api-migrate", "docket-api-migrate-contract"}


def test_config_values_reach_the_configmap_as_plain_numbers(renderer: Renderer) -> None:
    files = renderer.render_values("api", {"config": {"MAX_UPLOAD_BYTES": 52428800, "DB_POOL_TIMEOUT": 2.5}})
    data = chartlib.parse_documents(files["api/templates/configmap.yaml"])[0]["data"]
    assert data["MAX_UPLOAD_BYTES"] == "52428800", "no float exponent"
    assert data["DB_POOL_TIMEOUT"] == "2.5"
    assert data["REFRESH_TOKEN_TTL_SECONDS"] == "1209600"
    ingress = chartlib.parse_documents(files["api/templates/ingress.yaml"])[0]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "52494336"
    files = renderer.render_values("api", {"ingress": {"maxBodyBytes": 1048576}})
    ingress = chartlib.parse_documents(files["api/templates/ingress.yaml"])[0]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "1048576"
    assert "CORS_ORIGINS" not in data, "empty values are left out so the service default applies"


def test_a_config_change_rolls_the_pods(renderer: Renderer) -> None:
    def checksum(values: dict[str, object]) -> str:
        files = renderer.render_values("api", values)
        deployment = chartlib.parse_documents(files["api/templates/deployment.yaml"])[0]
        return str(deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum({}) == checksum({})
    assert checksum({}) != checksum({"config": {"LOG_LEVEL": "DEBUG"}})


REFUSED = [
    pytest.param(
        "api",
        {"global": {"environment": "production", "devServices": False}},
        "secrets.DATABASE_URL points at the development service of k8s/dev",
        id="production-development-database-url",
    ),
    pytest.param(
        "web",
        {"global": {"devServices": False}},
        "secrets.REDIS_URL points at the development service of k8s/dev",
        id="production-by-default-development-redis-url",
    ),
    pytest.param(
        "api",
        {"global": {"environment": "production"}, "secrets": {**chartlib.REAL_SECRETS, "DATABASE_URL": ""}},
        "secrets.DATABASE_URL is required",
        id="production-empty-database-url",
    ),
    pytest.param(
        "api",
        {
            "config": {"ENVIRONMENT": "production"},
            "secrets": {**chartlib.REAL_SECRETS, "JWT_SECRET": "short"},
        },
        "secrets.JWT_SECRET must be at least 32 bytes",
        id="production-short-jwt-secret",
    ),
    pytest.param(
        "api",
        {
            "config": {"ENVIRONMENT": "staging"},
            "secrets": {**chartlib.REAL_SECRETS, "JWT_SECRET": "docket-local-development-secret-do-not-use"},
        },
        "secrets.JWT_SECRET is a development key",
        id="staging-dev-jwt-secret",
    ),
    pytest.param(
        "web",
        {"global": {"environment": "production"}, "secrets": {"REDIS_URL": "changeme"}},
        "secrets.REDIS_URL still holds a placeholder",
        id="production-changeme",
    ),
    pytest.param(
        "worker",
        {"global": {"environment": "production"}, "secrets": {"REDIS_URL": ""}},
        "secrets.REDIS_URL is required",
        id="production-worker-empty-redis-url",
    ),
    pytest.param(
        "web",
        {
            "global": {"environment": "production"},
            "secrets": {**chartlib.WEB_SECRETS, "CSRF_SECRET": "x" * 31},
        },
        "secrets.CSRF_SECRET must be at least 32 bytes",
        id="production-short-csrf-secret",
    ),
    pytest.param(
        "web",
        {
            "global": {"environment": "production"},
            "secrets": {
                **chartlib.WEB_SECRETS,
                "CSRF_SECRET": "docket-web-local-development-csrf-key-do-not-use",
            },
        },
        "secrets.CSRF_SECRET is a development key",
        id="production-dev-csrf-secret",
    ),
    pytest.param(
        "api",
        {"global": {"environment": "production", "existingSecret": "s"}, "config": {"CORS_ORIGINS": "*"}},
        "config.CORS_ORIGINS",
        id="production-cors-star",
    ),
    pytest.param(
        "web", {"global": {"image": {"tag": "main"}}, "image": {"tag": "latest"}}, "image", id="latest"
    ),
    pytest.param(
        "api",
        {"terminationGracePeriodSeconds": 30},
        "terminationGracePeriodSeconds (30) must be greater than",
        id="grace-period-too-short",
    ),
    pytest.param("api", {"ingress": {"host": ""}}, "ingress.host", id="ingress-without-host"),
    pytest.param(
        "worker", {"backup": {"persistence": {"enabled": False}}}, "backup.s3.url", id="backup-nowhere"
    ),
    pytest.param(
        "worker",
        {"backup": {"s3": {"url": "s3://b/p", "egress": {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}}}},
        "backup.s3.existingSecret",
        id="s3-without-credentials",
    ),
    pytest.param(
        "worker",
        {"backup": {"s3": {"url": "s3://b/p", "existingSecret": "s3"}}},
        "backup.s3.egress.to is empty",
        id="s3-without-egress-peers",
    ),
    pytest.param(
        "api",
        {"networkPolicy": {"egress": {"sentry": {"enabled": True}}}},
        "networkPolicy.egress.sentry.to is empty",
        id="sentry-egress-without-peers",
    ),
    pytest.param(
        "web",
        {"networkPolicy": {"egress": {"redis": {"to": []}}}},
        "networkPolicy.egress.redis.to is empty",
        id="redis-egress-without-peers",
    ),
]


@pytest.mark.parametrize(("chart", "values", "message"), REFUSED)
def test_unsafe_values_are_refused_with_a_message(
    renderer: Renderer, chart: str, values: dict[str, object], message: str
) -> None:
    with pytest.raises((helm.HelmRenderError, helm.HelmValuesError)) as caught:
        renderer.render_values(chart, values)
    assert message in str(caught.value)


def test_umbrella_production_refuses_the_development_services_when_told(renderer: Renderer) -> None:
    with pytest.raises(helm.HelmRenderError, match="points at the development service of k8s/dev"):
        renderer.render_values("docket", {"global": {"environment": "production", "devServices": False}})


@pytest.mark.parametrize("case_id", ["docket-observability", "docket-production"])
def test_the_alerts_name_the_jobs_and_pods_prometheus_sees(renderer: Renderer, case_id: str) -> None:
    """Prometheus's job label is the Service a ServiceMonitor scrapes: the alerts must use those names."""
    rendered = renderer.render(chartlib.CASES_BY_ID[case_id])
    services = {s.name: s.obj for s in rendered.of_kind("Service")}
    scraped = {
        name
        for monitor in rendered.of_kind("ServiceMonitor")
        for name, service in services.items()
        if chartlib.matches(monitor.obj["spec"]["selector"], service["metadata"]["labels"])
    }
    assert scraped == {"docket-api-metrics", "docket-web-metrics", "docket-worker-metrics"}
    (rule,) = rendered.of_kind("PrometheusRule")
    expressions = {
        r["alert"]: r["expr"] for g in rule.obj["spec"]["groups"] for r in g["rules"] if "alert" in r
    }
    jobs = re.findall(r'job=~"([^"]+)"', expressions["DocketTargetDown"])
    assert [set(j.split("|")) for j in jobs] == [scraped]
    http_jobs = re.findall(r'job=~"([^"]+)"', expressions["DocketHighErrorRate"])
    assert {name for j in http_jobs for name in j.split("|")} == {"docket-api-metrics", "docket-web-metrics"}
    (pods,) = re.findall(r'pod=~"\(([^)]+)\)-\.\*"', expressions["DocketPodNotReady"])
    assert set(pods.split("|")) == rendered.names("Deployment")
