"""The harness runs what the chart renders, not what it expects: a changed manifest changes the run.

The first tests read renders only (no Docker, part of every `make test`); the last installs a release
whose API readiness probe asks for another path, and the rehearsal must refuse it.
"""

from __future__ import annotations

import copy

import pytest
from harness.cluster import Cluster
from harness.podspec import ManifestError, Objects, docker_run_args, pod_spec
from harness.render import IMAGE_TAG, rehearsal_values, render
from harness.workloads import RolloutError, hook_order

BROKEN_PATH = "/readyz-moved"


def _deployment(objects: list[dict], name: str) -> dict:
    return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name)


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    return render(
        rehearsal_values(
            {"api": {"config": {"MANAGEMENT_PORT": 8101}, "resources": {"limits": {"memory": "700Mi"}}}}
        )
    )


def test_container_spec_comes_from_the_render(rendered: list[dict]) -> None:
    objects = Objects(rendered)
    spec = pod_spec(_deployment(rendered, "docket-api")["spec"]["template"], objects, {})
    container = spec.container
    assert container.probes["readiness"].port == 8101
    assert container.probes["readiness"].path == "/readyz"
    assert container.port_env == {8000: "PORT", 8101: "MANAGEMENT_PORT"}
    assert container.memory_bytes == 700 * 2**20
    assert container.env["REDIS_URL"].startswith("redis://docket-redis")
    assert "JWT_SECRET" in container.secret_env
    assert container.tmpfs == [("/tmp", 256 * 2**20)]
    argv, shown = docker_run_args("pod", spec, {8000: 1111, 8101: 2222}, {"docket-api": "127.0.1.1"}, "run")
    assert {"-e", "PORT=1111", "MANAGEMENT_PORT=2222", "--read-only", "--cap-drop=ALL"} <= set(argv)
    assert f"JWT_SECRET={container.env['JWT_SECRET']}" in argv
    assert "JWT_SECRET=<secret>" in shown
    assert argv[argv.index("--user") + 1] == "10001:10001"


def test_a_port_no_variable_sets_is_refused(rendered: list[dict]) -> None:
    template = copy.deepcopy(_deployment(rendered, "docket-web")["spec"]["template"])
    template["spec"]["containers"][0]["ports"].append({"name": "extra", "containerPort": 9999})
    with pytest.raises(ManifestError, match="containerPort 9999 is set by no"):
        pod_spec(template, Objects(rendered), {})


def test_hooks_run_in_helms_order(rendered: list[dict]) -> None:
    order = [(o["kind"], o["metadata"]["name"]) for o in hook_order(rendered, "pre-install")]
    assert order[0] == ("PersistentVolumeClaim", "docket-worker-backups")  # weight -20
    assert order[-1] == ("Job", "docket-api-migrate")  # weight 0, after its -10 ServiceAccount and Secret


def _move_readiness_path(objects: list[dict]) -> list[dict]:
    """A post-renderer (the charts have no value for a probe's path) moving the API's readiness path."""
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "docket-api":
            obj["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = (
                BROKEN_PATH
            )
    return objects


@pytest.mark.rehearsal(ci=True)
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_moved_readiness_path_fails_the_rehearsal(requirements: None) -> None:
    release = Cluster(
        {
            "global": {"image": {"tag": IMAGE_TAG}},
            "api": {"replicaCount": 1},
            "web": {"replicaCount": 1},
            "worker": {"replicaCount": 1},
        },
        post_render=_move_readiness_path,
    )
    try:
        with pytest.raises(RolloutError, match=f"GET {BROKEN_PATH} -> 404"):
            release.install(timeout=30)
    finally:
        release.teardown()
