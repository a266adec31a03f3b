"""Redis Sentinel (Redis or Valkey): global.redis.sentinels and sentinelMaster, or each chart's
REDIS_SENTINELS and REDIS_SENTINEL_MASTER, tell the api, web and worker where to ask for the master;
REDIS_URL (then optional) gives only the password, user, database number and TLS, and the egress
rules open the sentinels' ports."""

from __future__ import annotations

from typing import Any

import chartlib
import helm_python as helm
import pytest
from chartlib import SENTINELS, Rendered, Renderer


@pytest.fixture(scope="module")
def sentinel(renderer: Renderer) -> Rendered:
    return renderer.render(chartlib.CASES_BY_ID["docket-redis-sentinel"])


def container_env(rendered: Rendered, deployment: str) -> dict[str, Any]:
    template = chartlib.pod_template(rendered.one("Deployment", deployment).obj)
    assert template is not None
    return {e["name"]: e for e in template["spec"]["containers"][0]["env"]}


def test_every_service_asks_the_sentinels_for_the_master(sentinel: Rendered) -> None:
    for chart in ("api", "web", "worker"):
        data = sentinel.one("ConfigMap", f"docket-{chart}").obj["data"]
        assert data["REDIS_SENTINELS"] == ",".join(SENTINELS), chart
        assert data["REDIS_SENTINEL_MASTER"] == "docket", chart
        env = container_env(sentinel, f"docket-{chart}")
        ref = env["REDIS_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"docket-{chart}", "key": "REDIS_URL", "optional": True}, chart


def test_the_password_stays_in_the_secret(sentinel: Rendered) -> None:
    """REDIS_URL carries the password; the web's is empty (a Redis without one), so its Secret omits it."""
    assert "REDIS_URL" in sentinel.one("Secret", "docket-api").obj["data"]
    assert "REDIS_URL" not in sentinel.one("Secret", "docket-web").obj["data"]
    for configmap in sentinel.of_kind("ConfigMap"):
        assert not any("Zq8v2" in str(v) for v in (configmap.obj.get("data") or {}).values())


def test_the_redis_egress_rule_adds_the_sentinels_ports(sentinel: Rendered) -> None:
    for chart in ("api", "web", "worker"):
        policy = sentinel.one("NetworkPolicy", f"docket-{chart}").obj
        redis_rules = [
            r for r in policy["spec"]["egress"] if 6379 in {p["port"] for p in r.get("ports") or []}
        ]
        assert len(redis_rules) == 1, chart
        ports = [p["port"] for p in redis_rules[0]["ports"]]
        assert ports == [6379, 26379, 26380], f"{chart}: each port once, the server's first"


def test_without_sentinels_nothing_changes(renderer: Renderer) -> None:
    rendered = renderer.render(chartlib.CASES_BY_ID["docket-defaults"])
    for chart in ("api", "web", "worker"):
        data = rendered.one("ConfigMap", f"docket-{chart}").obj["data"]
        assert "REDIS_SENTINELS" not in data
        assert "REDIS_SENTINEL_MASTER" not in data
        ref = container_env(rendered, f"docket-{chart}")["REDIS_URL"]["valueFrom"]["secretKeyRef"]
        assert "optional" not in ref, "without Sentinels the pods cannot start without REDIS_URL"


def test_a_chart_alone_takes_its_own_comma_separated_setting(renderer: Renderer) -> None:
    values = {
        "config": {
            "REDIS_SENTINELS": "redis-0.redis:26379, redis-1.redis:26379",
            "REDIS_SENTINEL_MASTER": "m",
        }
    }
    manifests = chartlib.manifests_of(renderer.render_values("web", values))
    data = next(m for m in manifests if m.kind == "ConfigMap").obj["data"]
    assert data["REDIS_SENTINELS"] == "redis-0.redis:26379,redis-1.redis:26379"
    assert data["REDIS_SENTINEL_MASTER"] == "m"


def test_production_needs_no_redis_url_with_sentinels(renderer: Renderer) -> None:
    values = {
        "global": {
            "environment": "production",
            "devServices": False,
            "redis": {"sentinels": SENTINELS[:1], "sentinelMaster": "docket"},
        },
        "secrets": {"REDIS_URL": ""},
        "ingress": {"host": "docket.example.com"},
        "config": {"TRUSTED_PROXIES": ["10.42.0.0/16"]},
    }
    manifests = chartlib.manifests_of(renderer.render_values("web", values))
    assert "REDIS_URL" not in next(m for m in manifests if m.kind == "Secret").obj["data"]
    with pytest.raises(helm.HelmRenderError, match=r"secrets\.REDIS_URL is required"):
        renderer.render_values("web", {**values, "global": {**values["global"], "redis": {}}})


REFUSED = [
    pytest.param(
        {"global": {"redis": {"sentinels": ["redis-0.redis:26379"]}}},
        "global.redis.sentinels is set but no master name",
        id="sentinels-without-master",
    ),
    pytest.param(
        {
            "web": {"config": {"REDIS_SENTINELS": "redis-0.redis:26379,redis-1"}},
            "global": {"redis": {"sentinelMaster": "m"}},
        },
        'config.REDIS_SENTINELS: "redis-1" is not host:port',
        id="config-sentinel-without-port",
    ),
]


@pytest.mark.parametrize(("values", "message"), REFUSED)
def test_a_sentinel_setting_that_cannot_work_is_refused(
    renderer: Renderer, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm.HelmRenderError) as caught:
        renderer.render_values("docket", values)
    assert message in str(caught.value)


def test_the_schema_refuses_a_sentinel_without_a_port(renderer: Renderer) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        renderer.render_values("docket", {"global": {"redis": {"sentinels": ["redis:sentinel"]}}})
    assert "global/redis/sentinels" in str(caught.value) or "global.redis.sentinels" in str(caught.value)
