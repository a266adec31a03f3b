"""Client addresses: behind an Ingress in production the services must know which proxies' X-Forwarded-For
to believe (else every anonymous client shares one rate-limit bucket), and a trusted range wider than
a /16 is called out, since any pod in it that can reach the service may claim any address."""

from __future__ import annotations

from typing import Any

import chartlib
import helm_python as helm
import pytest
import yaml
from chartlib import CHARTS, K8S, PRODUCTION_VALUES, Renderer

PRODUCTION = {"global": {"environment": "production"}}
CHART_SECRET = {
    "api": {"secrets": chartlib.REAL_SECRETS},
    "web": {"secrets": chartlib.WEB_SECRETS},
}


def production(chart: str, proxies: Any) -> dict[str, Any]:
    return {**PRODUCTION, **CHART_SECRET[chart], "config": {"TRUSTED_PROXIES": proxies}}


@pytest.mark.parametrize("chart", ["api", "web"])
@pytest.mark.parametrize("proxies", ["", [], " , "], ids=["empty-string", "empty-list", "blanks"])
def test_production_behind_an_ingress_refuses_no_trusted_proxies(
    renderer: Renderer, chart: str, proxies: Any
) -> None:
    with pytest.raises(helm.HelmRenderError) as caught:
        renderer.render_values(chart, production(chart, proxies))
    message = str(caught.value)
    assert "config.TRUSTED_PROXIES is empty" in message
    assert ("of the web pods" in message) is (chart == "api"), "the API must also trust the web pods"


def test_the_umbrella_refuses_it_too(renderer: Renderer) -> None:
    with pytest.raises(helm.HelmRenderError, match=r"config\.TRUSTED_PROXIES is empty"):
        renderer.render_values("docket", {"web": {"config": {"TRUSTED_PROXIES": []}}})


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"ingress": {"enabled": False}}, id="no-ingress"),
        pytest.param({"global": {"environment": "staging"}}, id="staging"),
    ],
)
def test_no_proxies_are_allowed_without_an_ingress_or_outside_production(
    renderer: Renderer, values: dict[str, Any]
) -> None:
    values = {**production("api", []), **values}
    renderer.render_values("api", values)


WIDE = [
    pytest.param(["10.0.0.0/8"], "10.0.0.0/8", id="ipv4-slash-8"),
    pytest.param("10.244.0.0/16,172.16.0.0/12", "172.16.0.0/12", id="csv-with-one-wide"),
    pytest.param(["0.0.0.0/0"], "0.0.0.0/0", id="everything"),
    pytest.param(["fd00::/64"], "fd00::/64", id="ipv6-slash-64"),
]


@pytest.mark.parametrize(("proxies", "wide"), WIDE)
@pytest.mark.parametrize("chart", ["api", "web"])
def test_a_range_wider_than_a_slash_16_gets_a_notes_warning(
    renderer: Renderer, chart: str, proxies: Any, wide: str
) -> None:
    notes = chartlib.notes_of(renderer.render_values(chart, production(chart, proxies)), chart)
    assert f"WARNING: config.TRUSTED_PROXIES holds {wide}, wider than a /16" in notes


@pytest.mark.parametrize(
    "proxies",
    [["10.42.0.0/16"], ["10.42.3.0/24", "10.42.7.0/24"], ["10.42.3.17"], ["fd00::1:0/112"]],
    ids=["slash-16", "two-nodes", "one-address", "ipv6-slash-112"],
)
def test_a_narrow_list_gets_no_warning(renderer: Renderer, proxies: list[str]) -> None:
    notes = chartlib.notes_of(renderer.render_values("api", production("api", proxies)), "api")
    assert "TRUSTED_PROXIES holds" not in notes
    assert "kind's pod network" not in notes


def test_the_umbrella_warns_for_each_chart(renderer: Renderer) -> None:
    values = {"api": {"config": {"TRUSTED_PROXIES": ["10.0.0.0/8"]}}}
    notes = chartlib.notes_of(renderer.render_values("docket", values), "docket")
    assert "WARNING: api.config.TRUSTED_PROXIES holds 10.0.0.0/8, wider than a /16" in notes
    assert "web.config.TRUSTED_PROXIES holds" not in notes
    assert "NOTE: web.config.TRUSTED_PROXIES is the charts' default, 10.244.0.0/16" in notes


def test_the_production_example_trusts_no_range_wider_than_a_slash_16(renderer: Renderer) -> None:
    for chart in ("api", "web"):
        proxies = PRODUCTION_VALUES[chart]["config"]["TRUSTED_PROXIES"]
        assert "10.0.0.0/8" not in proxies
    notes = chartlib.notes_of(renderer.render_values("docket", PRODUCTION_VALUES), "docket")
    assert "TRUSTED_PROXIES holds" not in notes
    assert "TRUSTED_PROXIES is the charts' default" not in notes


def test_the_default_is_the_pod_network_of_the_kind_cluster() -> None:
    """The default install on k8s/kind-cluster.yaml trusts its ingress controller and web pods."""
    (cluster,) = chartlib.parse_documents((K8S / "kind-cluster.yaml").read_text())
    pod_subnet = cluster["networking"]["podSubnet"]
    for chart in ("api", "web"):
        values = yaml.safe_load((CHARTS / chart / "values.yaml").read_text())
        assert values["config"]["TRUSTED_PROXIES"] == [pod_subnet]
