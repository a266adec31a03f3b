"""What the settings can consume: the PostgreSQL connections each chart can open (an annotation, NOTES,
and a limit the umbrella enforces), and the worker's memory, which must fit its container's limit."""

from __future__ import annotations

import math
import re
from typing import Any

import chartlib
import helm_python as helm
import pytest
import yaml
from chartlib import CHARTS, Renderer
from helm_commands import merge

ANNOTATION = "docket/postgresql-connections"


def chart_defaults(chart: str) -> dict[str, Any]:
    return yaml.safe_load((CHARTS / chart / "values.yaml").read_text())  # type: ignore[no-any-return]


def expected_connections(chart: str, overrides: dict[str, Any]) -> int:
    """The figure as the values' comments define it, computed here from the values alone."""
    values = merge(chart_defaults(chart), overrides)
    replicas = values["replicaCount"]
    if values["autoscaling"]["enabled"]:
        replicas = values["autoscaling"]["maxReplicas"]
    surge = values["updateStrategy"]["maxSurge"]
    if isinstance(surge, str):
        surge = math.ceil(replicas * int(surge.rstrip("%")) / 100)
    processes = values["config"].get("WORKERS", 1)
    if "DATABASE_URL" not in values["secrets"]:
        return 0  # the web opens none
    per_process = values["config"]["DB_POOL_MAX_SIZE"] + (1 if chart == "worker" else 0)
    jobs = 0
    if chart == "api" and values["migration"]["enabled"]:
        jobs += 1
    if chart == "worker" and values["backup"]["enabled"]:
        jobs += 3 + (1 if values["backup"]["verify"]["enabled"] else 0)
    return int((replicas + surge) * processes * per_process + jobs)


def annotation(files: dict[str, str], name: str) -> int:
    deployment = next(m for m in chartlib.manifests_of(files) if m.kind == "Deployment" and m.name == name)
    return int(deployment.annotations[ANNOTATION])


BUDGETS = [
    pytest.param("api", {}, 31, id="api-defaults"),
    pytest.param("api", {"autoscaling": {"enabled": True, "maxReplicas": 7}}, 91, id="api-autoscaling-max"),
    pytest.param(
        "api",
        {
            "replicaCount": 3,
            "config": {"WORKERS": 4, "DB_POOL_MAX_SIZE": 5},
            "migration": {"enabled": False},
            "tmpSizeLimit": "512Mi",
        },
        80,
        id="api-processes-and-pool",
    ),
    pytest.param("api", {"replicaCount": 4, "updateStrategy": {"maxSurge": 0}}, 41, id="api-no-surge"),
    pytest.param("api", {"replicaCount": 4, "updateStrategy": {"maxSurge": 3}}, 71, id="api-surge-pods"),
    pytest.param("worker", {}, 36, id="worker-defaults"),
    pytest.param(
        "worker",
        {"autoscaling": {"enabled": True, "maxReplicas": 5}, "backup": {"verify": {"enabled": True}}},
        81,
        id="worker-autoscaling-and-restore-test",
    ),
    pytest.param(
        "worker",
        {"config": {"WORKERS": 2, "WORKER_CONCURRENCY": 1}, "backup": {"enabled": False}},
        66,
        id="worker-processes",
    ),
    pytest.param("web", {"autoscaling": {"enabled": True, "maxReplicas": 50}}, 0, id="web-opens-none"),
]


@pytest.mark.parametrize(("chart", "overrides", "figure"), BUDGETS)
def test_the_annotation_is_the_most_connections_the_settings_can_open(
    renderer: Renderer, chart: str, overrides: dict[str, Any], figure: int
) -> None:
    assert expected_connections(chart, overrides) == figure, "the hand-worked figure and the formula agree"
    files = renderer.render_values(chart, overrides)
    assert annotation(files, f"docket-{chart}") == figure
    notes = chartlib.notes_of(files, chart)
    if figure:
        assert f"PostgreSQL connections this chart can open at most: {figure} = " in notes


def test_the_umbrella_adds_up_its_charts_and_prints_the_sum(renderer: Renderer) -> None:
    files = renderer.render_values("docket", {})
    api, worker = annotation(files, "docket-api"), annotation(files, "docket-worker")
    assert annotation(files, "docket-web") == 0
    assert (api, worker) == (expected_connections("api", {}), expected_connections("worker", {}))
    notes = chartlib.notes_of(files, "docket")
    assert f"the release can open at most: {api + worker} of postgresql.maxConnections 100" in notes


def test_the_umbrella_refuses_a_release_over_the_servers_budget(renderer: Renderer) -> None:
    values = {"api": {"autoscaling": {"enabled": True, "maxReplicas": 10}}}
    total = expected_connections("api", values["api"]) + expected_connections("worker", {})
    assert total > 100
    with pytest.raises(helm.HelmRenderError) as caught:
        renderer.render_values("docket", values)
    message = str(caught.value)
    assert f"the release can open {total} PostgreSQL connections" in message
    assert "more than postgresql.maxConnections (100)" in message
    assert "api 131 = 13 pods x 1 process x 10 connections + 1 for Jobs" in message
    # the same release fits a server that accepts that many, and not one fewer
    renderer.render_values("docket", {**values, "postgresql": {"maxConnections": total}})
    with pytest.raises(helm.HelmRenderError, match=f"can open {total} PostgreSQL connections"):
        renderer.render_values("docket", {**values, "postgresql": {"maxConnections": total - 1}})


def test_disabled_charts_are_not_counted(renderer: Renderer) -> None:
    values = {"api": {"autoscaling": {"enabled": True, "maxReplicas": 30}, "enabled": False}}
    # a chart of its own: Helm drops a disabled dependency from the loaded chart it renders
    umbrella = helm.Chart.load(renderer.root / "docket")
    files = umbrella.render(values, name=chartlib.RELEASE, namespace=chartlib.NAMESPACE, is_install=True)
    worker = expected_connections("worker", {})
    assert f"can open at most: {worker} of postgresql.maxConnections" in chartlib.notes_of(files, "docket")


# ---------------------------------------------------------------------------------------------
# the worker's memory


def test_eight_jobs_of_a_gibibyte_do_not_fit_a_2gi_worker(renderer: Renderer) -> None:
    values = {
        "config": {"WORKER_CONCURRENCY": 8, "WORKER_EXTRACT_MEMORY_MB": 1024},
        "resources": {"limits": {"memory": "2Gi"}},
    }
    for chart, chart_values in (("worker", values), ("docket", {"worker": values})):
        with pytest.raises(helm.HelmRenderError) as caught:
            renderer.render_values(chart, chart_values)
        message = str(caught.value)
        assert "config.WORKER_CONCURRENCY (8) x config.WORKER_EXTRACT_MEMORY_MB (1024)" in message
        assert (
            "+ parentMemoryMB (512) = 8704 MiB does not fit resources.limits.memory (2Gi = 2048 MiB)"
            in message
        )


FITS = [
    pytest.param({}, 2560, id="defaults-4x512+512-in-2560Mi"),
    pytest.param(
        {
            "config": {"WORKER_CONCURRENCY": 8, "WORKER_EXTRACT_MEMORY_MB": 1024},
            "resources": {"limits": {"memory": "9Gi"}},
        },
        8704,
        id="8x1024+512-in-9Gi",
    ),
    pytest.param(
        {
            "config": {"WORKER_CONCURRENCY": 2, "WORKER_EXTRACT_MEMORY_MB": 768},
            "resources": {"limits": {"memory": "2.2G"}},
        },
        2048,
        id="2x768+512-in-2.2G",
    ),
    pytest.param(
        {"config": {"WORKERS": 2, "WORKER_CONCURRENCY": 2}, "resources": {"limits": {"memory": 3221225472}}},
        3072,
        id="2-processes-x-(2x512+512)-in-bytes",
    ),
]


@pytest.mark.parametrize(("values", "need"), FITS)
def test_a_fitting_combination_renders_and_says_its_budget(
    renderer: Renderer, values: dict[str, Any], need: int
) -> None:
    notes = chartlib.notes_of(renderer.render_values("worker", values), "worker")
    assert f"= {need} MiB of the" in notes


@pytest.mark.parametrize(
    ("values", "phrase"),
    [
        pytest.param(
            {"config": {"WORKER_CONCURRENCY": 5}},
            "(5) x config.WORKER_EXTRACT_MEMORY_MB (512) + parentMemoryMB (512) = 3072 MiB",
            id="one-job-too-many",
        ),
        pytest.param(
            {"config": {"WORKERS": 2}},
            "times config.WORKERS (2), = 5120 MiB does not fit resources.limits.memory (2560Mi = 2560 MiB)",
            id="two-processes",
        ),
        pytest.param(
            {"resources": {"limits": {"memory": "2.5G"}}},
            "= 2560 MiB does not fit resources.limits.memory (2.5G = 2384 MiB)",
            id="decimal-gigabytes-are-smaller",
        ),
    ],
)
def test_a_combination_that_does_not_fit_is_refused(
    renderer: Renderer, values: dict[str, Any], phrase: str
) -> None:
    with pytest.raises(helm.HelmRenderError) as caught:
        renderer.render_values("worker", values)
    assert phrase in re.sub(r"\s+", " ", str(caught.value))


# ---------------------------------------------------------------------------------------------
# the api's upload spool


@pytest.mark.parametrize(
    ("values", "phrase"),
    [
        pytest.param(
            {"config": {"WORKERS": 3}},
            "config.WORKERS (3) x config.UPLOAD_SPOOL_MAX_BYTES (134217728) = 384 MiB does not fit "
            "tmpSizeLimit (256Mi = 256 MiB)",
            id="three-processes-of-128MiB-in-256Mi",
        ),
        pytest.param(
            {"config": {"UPLOAD_SPOOL_MAX_BYTES": 512 * 1024 * 1024}},
            "config.WORKERS (1) x config.UPLOAD_SPOOL_MAX_BYTES (536870912) = 512 MiB does not fit",
            id="one-process-of-512MiB",
        ),
    ],
)
def test_an_upload_spool_larger_than_tmp_is_refused(
    renderer: Renderer, values: dict[str, Any], phrase: str
) -> None:
    for chart, chart_values in (("api", values), ("docket", {"api": values})):
        with pytest.raises(helm.HelmRenderError) as caught:
            renderer.render_values(chart, chart_values)
        assert phrase in re.sub(r"\s+", " ", str(caught.value))


def test_an_upload_spool_that_fits_tmp_renders(renderer: Renderer) -> None:
    files = renderer.render_values("api", {"config": {"WORKERS": 2}, "tmpSizeLimit": "300Mi"})
    assert files
