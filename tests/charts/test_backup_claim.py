"""The backup claim (#17): `helm install --wait` must not wait for it to bind, and nothing Helm does may
delete it, the backups on it with it.

Helm waits for every release object to be ready (a claim: Bound) but for hooks only when they are Jobs
or Pods (pkg/kube wait.go and statuswait.go, WatchUntilReady), and it gives a hook without a delete
policy before-hook-creation, which deletes the object before creating it again. So the claim is a
hook with an explicit policy that never fires, rendered only when the cluster does not have it yet."""

from __future__ import annotations

from typing import Any

import chartlib
import kubeapi
import pytest
from chartlib import NAMESPACE, Renderer

CLAIM = "docket-worker-backups"


def claims(files: dict[str, str]) -> list[chartlib.Manifest]:
    return [m for m in chartlib.manifests_of(files) if m.kind == "PersistentVolumeClaim"]


@pytest.mark.parametrize("chart", ["worker", "docket"])
def test_the_claim_is_a_hook_helm_neither_waits_for_nor_deletes(renderer: Renderer, chart: str) -> None:
    (claim,) = claims(renderer.render_values(chart, {}))
    annotations = claim.annotations
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    # an explicit policy, so Helm's default (before-hook-creation) never deletes the claim
    assert annotations["helm.sh/hook-delete-policy"] == "hook-failed"
    assert annotations["helm.sh/resource-policy"] == "keep"
    assert claim.hook_weight < 0, "created before the migration hooks, long before the CronJob runs"
    assert claim.obj["spec"]["resources"]["requests"]["storage"] == "20Gi"


def existing_claim() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": CLAIM, "namespace": NAMESPACE},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}},
        "status": {"phase": "Pending"},
    }


def test_an_upgrade_or_reinstall_reuses_the_claim_in_the_cluster(renderer: Renderer) -> None:
    cluster = kubeapi.Cluster()
    cluster.add(existing_claim())
    with kubeapi.serve(cluster, NAMESPACE) as config:
        upgrade = renderer.render_in_cluster("worker", {}, config, upgrade=True)
        reinstall = renderer.render_in_cluster("worker", {}, config)
    for files in (upgrade, reinstall):
        assert not claims(files), "the claim exists: no hook that could replace it"
        cronjob = next(m for m in chartlib.manifests_of(files) if m.kind == "CronJob")
        volumes = cronjob.obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "backups", "persistentVolumeClaim": {"claimName": CLAIM}} in volumes
    assert f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims/{CLAIM}" in cluster.requests


def test_an_upgrade_that_turns_persistence_on_creates_the_claim(renderer: Renderer) -> None:
    with kubeapi.serve(kubeapi.Cluster(), NAMESPACE) as config:
        files = renderer.render_in_cluster("worker", {}, config, upgrade=True)
    (claim,) = claims(files)
    assert claim.is_hook


def test_no_claim_without_persistence_or_with_an_existing_one(renderer: Renderer) -> None:
    assert not claims(
        renderer.render_values("worker", {"backup": {"persistence": {"existingClaim": "mine"}}})
    )
    values = {
        "backup": {
            "persistence": {"enabled": False},
            "s3": {
                "url": "s3://b/p",
                "existingSecret": "s3",
                "egress": {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
            },
        }
    }
    assert not claims(renderer.render_values("worker", values))
