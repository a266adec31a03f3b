"""The deploy tooling's decisions, fed with the kubernetes client's own models, and its Helm command lines."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from deploylib import checks, helm, images
from deploylib.environments import load_environment
from deploylib.jobs import job_from_cronjob, job_outcome
from kubernetes.client import (
    V1Container,
    V1CronJob,
    V1CronJobSpec,
    V1Deployment,
    V1DeploymentSpec,
    V1DeploymentStatus,
    V1Job,
    V1JobCondition,
    V1JobSpec,
    V1JobStatus,
    V1JobTemplateSpec,
    V1LabelSelector,
    V1Namespace,
    V1ObjectMeta,
    V1OwnerReference,
    V1PersistentVolumeClaim,
    V1PodSpec,
    V1PodTemplateSpec,
    V1Secret,
)

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
ENV = load_environment("staging")
PINS = {
    f"ghcr.io/acme/docket-{service}:1.4.0": f"ghcr.io/acme/docket-{service}:1.4.0@sha256:{str(i) * 64}"
    for i, service in enumerate(("api", "worker", "web"))
}


def _secret(**data: str) -> V1Secret:
    return V1Secret(data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()})


def _backup_job(name: str, finished: dt.datetime | None, cronjob: str = ENV.backup_cronjob) -> V1Job:
    return V1Job(
        metadata=V1ObjectMeta(
            name=name,
            owner_references=[
                V1OwnerReference(api_version="batch/v1", kind="CronJob", name=cronjob, uid="u")
            ],
        ),
        status=V1JobStatus(
            succeeded=1 if finished else None, completion_time=finished, failed=None if finished else 1
        ),
    )


def _deployment(
    name: str, replicas: int, updated: int, available: int, generation: int = 2, observed: int = 2
) -> V1Deployment:
    return V1Deployment(
        metadata=V1ObjectMeta(name=name, generation=generation),
        spec=V1DeploymentSpec(
            replicas=replicas,
            selector=V1LabelSelector(match_labels={"a": "b"}),
            template=V1PodTemplateSpec(spec=V1PodSpec(containers=[V1Container(name="c")])),
        ),
        status=V1DeploymentStatus(
            updated_replicas=updated, available_replicas=available, observed_generation=observed
        ),
    )


def test_wrong_kube_context_stops_everything() -> None:
    assert checks.check_context("production", "staging")
    assert checks.check_context("staging", "staging") == []


def test_namespace_must_exist_and_enforce_restricted() -> None:
    assert "does not exist" in checks.check_namespace(None, "docket")[0]
    loose = V1Namespace(metadata=V1ObjectMeta(name="docket", labels={}))
    assert "restricted" in checks.check_namespace(loose, "docket")[0]
    strict = V1Namespace(
        metadata=V1ObjectMeta(name="docket", labels={"pod-security.kubernetes.io/enforce": "restricted"})
    )
    assert checks.check_namespace(strict, "docket") == []


def test_secret_needs_every_required_key_non_empty() -> None:
    keys = ENV.required_keys
    assert checks.check_secret(None, "s", keys) == ["secret s does not exist"]
    partial = checks.check_secret(_secret(DATABASE_URL="postgresql://x", JWT_SECRET=""), "s", keys)
    assert "secret s key JWT_SECRET is empty" in partial
    assert "secret s has no key REDIS_URL" in partial
    full = _secret(**dict.fromkeys(keys, "value"))
    assert checks.check_secret(full, "s", keys) == []


def test_backup_must_be_recent_and_from_the_backup_cronjob() -> None:
    fresh = _backup_job("b1", NOW - dt.timedelta(hours=3))
    stale = _backup_job("b0", NOW - dt.timedelta(hours=30))
    failed = _backup_job("b2", None)
    foreign = _backup_job("x", NOW, cronjob="something-else")
    assert checks.check_backup_age([stale, failed, fresh], ENV.backup_cronjob, 26, NOW) == []
    assert "30.0 h ago" in checks.check_backup_age([stale, failed, foreign], ENV.backup_cronjob, 26, NOW)[0]
    assert (
        "no successful backup" in checks.check_backup_age([failed, foreign], ENV.backup_cronjob, 26, NOW)[0]
    )


def test_a_first_install_has_nothing_to_back_up_but_an_installed_release_does() -> None:
    assert checks.check_backup_before_deploy(False, [], ENV.backup_cronjob, 26, NOW) == []
    installed = checks.check_backup_before_deploy(True, [], ENV.backup_cronjob, 26, NOW)
    assert "no successful backup" in installed[0]
    fresh = _backup_job("b1", NOW - dt.timedelta(hours=1))
    assert checks.check_backup_before_deploy(True, [fresh], ENV.backup_cronjob, 26, NOW) == []


@pytest.mark.parametrize(
    ("registry", "problem"),
    [
        ("ghcr.io/OWNER", "placeholder OWNER"),
        ("ghcr.io/Acme-Corp", "capital letters"),
        ("ghcr.io/acme-corp", None),
    ],
)
def test_the_registry_is_filled_in_and_lowercase(registry: str, problem: str | None) -> None:
    found = checks.check_registry(registry)
    assert (problem in found[0]) if problem else found == []


def _pull_secret(auths: dict[str, object], kind: str = "kubernetes.io/dockerconfigjson") -> V1Secret:
    config = base64.b64encode(json.dumps({"auths": auths}).encode()).decode()
    return V1Secret(type=kind, data={".dockerconfigjson": config})


def test_the_pull_secret_must_hold_credentials_for_the_registry_host() -> None:
    assert "does not exist" in checks.check_pull_secret(None, "ghcr-pull", "ghcr.io")[0]
    opaque = _pull_secret({"ghcr.io": {"auth": "eDp5"}}, kind="Opaque")
    assert "not kubernetes.io/dockerconfigjson" in checks.check_pull_secret(opaque, "ghcr-pull", "ghcr.io")[0]
    other = _pull_secret({"registry.example.com": {"auth": "eDp5"}})
    assert "no credentials for ghcr.io" in checks.check_pull_secret(other, "ghcr-pull", "ghcr.io")[0]
    garbled = V1Secret(type="kubernetes.io/dockerconfigjson", data={".dockerconfigjson": "not base64!"})
    assert "no readable" in checks.check_pull_secret(garbled, "ghcr-pull", "ghcr.io")[0]
    for key in ("ghcr.io", "https://ghcr.io", "https://ghcr.io/v2/"):
        assert checks.check_pull_secret(_pull_secret({key: {"auth": "eDp5"}}), "ghcr-pull", "ghcr.io") == []


def test_the_backup_claim_must_exist_before_the_release() -> None:
    assert "does not exist" in checks.check_backup_claim(None, "docket-backups")[0]
    claim = V1PersistentVolumeClaim(metadata=V1ObjectMeta(name="docket-backups"))
    assert checks.check_backup_claim(claim, "docket-backups") == []


def test_digests_are_the_sha256_of_the_raw_manifest_and_must_match_the_build() -> None:
    raw = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
    digest = images.manifest_digest(raw)
    assert digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    reference = "ghcr.io/acme/docket-api:1.4.0"
    assert images.check_digest(reference, digest, digest) == []
    assert images.check_digest(reference, digest, None) == []
    assert "does not exist" in images.check_digest(reference, None, digest)[0]
    assert "pushed over" in images.check_digest(reference, digest, "sha256:" + "0" * 64)[0]
    assert images.pinned(reference, digest) == f"{reference}@{digest}"


@pytest.mark.parametrize(
    ("pairs", "error"),
    [
        (["db=sha256:" + "a" * 64], "one of api, worker, web"),
        (["api=" + "a" * 64], "sha256:"),
        (["api=sha256:" + "A" * 64], "lowercase hex"),
        (["api=sha256:" + "a" * 63], "64"),
        (["api=sha256:" + "a" * 64, "api=sha256:" + "b" * 64], "twice"),
    ],
)
def test_bad_digest_arguments_are_refused_by_name(pairs: list[str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        images.parse_digests(pairs, ("api", "worker", "web"))


def test_good_digest_arguments_map_each_service() -> None:
    pairs = [f"{service}=sha256:{c * 64}" for service, c in (("api", "a"), ("web", "b"))]
    assert images.parse_digests(pairs, ("api", "worker", "web")) == {
        "api": "sha256:" + "a" * 64,
        "web": "sha256:" + "b" * 64,
    }


def test_a_deployment_running_an_unpinned_docket_image_is_reported() -> None:
    pinned = PINS["ghcr.io/acme/docket-api:1.4.0"]
    good = _deployment("api", 1, 1, 1)
    good.spec.template.spec.containers = [V1Container(name="api", image=pinned)]
    drifted = _deployment("web", 1, 1, 1)
    drifted.spec.template.spec.containers = [
        V1Container(name="web", image="ghcr.io/acme/docket-web:1.4.0"),
        V1Container(name="proxy", image="registry.example.com/envoy:1.30"),  # not Docket's: ignored
    ]
    problems = checks.check_pinned_images([good, drifted], "ghcr.io/acme", PINS.values())
    assert problems == ["deployment/web runs ghcr.io/acme/docket-web:1.4.0, not a digest-pinned image"]


def test_rollout_is_complete_only_when_every_replica_is_updated_and_available() -> None:
    assert checks.check_rollout([_deployment("api", 3, 3, 3), _deployment("web", 2, 2, 2)]) == []
    assert "1 updated and 3 available of 3" in checks.check_rollout([_deployment("api", 3, 1, 3)])[0]
    assert "not observed" in checks.check_rollout([_deployment("api", 3, 3, 3, generation=3, observed=2)])[0]


def _flag_values(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == flag]


def test_upgrade_command_installs_the_published_chart_atomically_with_pinned_images() -> None:
    env = ENV.with_registry("ghcr.io/acme")
    command = helm.upgrade_command(env, "1.4.0", PINS)
    assert command[:5] == ["helm", "upgrade", "--install", "docket", "oci://ghcr.io/acme/charts/docket"]
    assert command[command.index("--version") + 1] == "1.4.0"
    for flag in ("--atomic", "--wait"):
        assert flag in command
    assert command[command.index("--namespace") + 1] == "docket"
    assert command[command.index("--kube-context") + 1] == "staging"
    assert _flag_values(command, "--values") == list(ENV.values)
    assert set(_flag_values(command, "--set-string")) >= {
        "global.image.registry=ghcr.io/acme",
        "global.image.tag=1.4.0",
        "global.existingSecret=docket-secrets",
        "worker.backup.persistence.existingClaim=docket-backups",
    }
    assert _flag_values(command, "--set-json") == ['global.imagePullSecrets=["ghcr-pull"]']
    renderer = _flag_values(command, "--post-renderer-args")
    assert command[command.index("--post-renderer") + 1] == sys.executable
    assert renderer[0].endswith("deploylib/postrender.py")
    assert json.loads(renderer[1]) == PINS


def test_an_environment_without_a_backup_claim_lets_the_chart_create_one() -> None:
    env = dataclasses.replace(ENV.with_registry("ghcr.io/acme"), backup_claim="")
    command = helm.upgrade_command(env, "1.4.0", PINS)
    set_strings = _flag_values(command, "--set-string")
    assert not any(value.startswith("worker.backup.persistence") for value in set_strings)


def test_history_tells_a_first_install_from_a_cluster_that_cannot_be_read() -> None:
    revisions = json.dumps([{"revision": 1, "status": "deployed"}])
    assert helm.read_history(0, revisions, "") == helm.History(exists=True, revisions_json=revisions)
    assert helm.read_history(1, "", "Error: release: not found\n") == helm.History(exists=False)
    with pytest.raises(helm.HistoryUnavailableError, match="Kubernetes cluster unreachable"):
        helm.read_history(1, "", "Error: Kubernetes cluster unreachable: connection refused\n")


def test_rollback_goes_to_the_newest_good_revision_before_the_failed_one() -> None:
    history = json.dumps(
        [
            {"revision": 4, "status": "superseded"},
            {"revision": 5, "status": "deployed"},
            {"revision": 6, "status": "failed"},
        ]
    )
    assert helm.previous_good_revision(history) == 5
    assert helm.previous_good_revision(history, current=5) == 4
    assert helm.previous_good_revision("[]") is None
    assert helm.rollback_command(ENV, 5)[:4] == ["helm", "rollback", "docket", "5"]


def test_a_backup_now_job_copies_the_cronjob_template_and_is_owned_by_it() -> None:
    container = V1Container(name="backup", image="docket-worker:1", args=["backup", "run"])
    cronjob = V1CronJob(
        metadata=V1ObjectMeta(name=ENV.backup_cronjob, namespace="docket", uid="cj-uid"),
        spec=V1CronJobSpec(
            schedule="0 2 * * *",
            job_template=V1JobTemplateSpec(
                metadata=V1ObjectMeta(labels={"app.kubernetes.io/component": "backup"}),
                spec=V1JobSpec(template=V1PodTemplateSpec(spec=V1PodSpec(containers=[container]))),
            ),
        ),
    )
    job = job_from_cronjob(cronjob, "backup-now-1")
    assert job.metadata.owner_references[0].name == ENV.backup_cronjob
    assert job.metadata.annotations["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job.spec.template.spec.containers[0].args == ["backup", "run"]
    assert job.metadata.labels == {"app.kubernetes.io/component": "backup"}


@pytest.mark.parametrize(
    ("conditions", "outcome"),
    [
        ([], None),
        ([V1JobCondition(type="Complete", status="True")], "succeeded"),
        ([V1JobCondition(type="Failed", status="True")], "failed"),
    ],
)
def test_job_outcome_reads_the_conditions(conditions: list[V1JobCondition], outcome: str | None) -> None:
    assert job_outcome(V1Job(status=V1JobStatus(conditions=conditions))) == outcome


def test_restore_job_takes_the_target_from_a_named_secret_key_never_from_args() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "restore_script", Path(__file__).parents[2] / "scripts" / "restore.py"
    )
    assert spec
    assert spec.loader
    restore = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(restore)
    args = restore.restore_args(None, clean=False)
    assert args == ["restore", "--latest", "--target-url", "$(RESTORE_DATABASE_URL)", "--yes"]
    env = restore.target_env("docket-secrets", "DATABASE_URL")
    assert env.value_from.secret_key_ref.name == "docket-secrets"
    assert env.value_from.secret_key_ref.key == "DATABASE_URL"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["staging", "--tag", "1.4.0", "--digest", "api=latest"], "--digest 'api=latest'"),
        (["staging", "--tag", "1.4.0", "--digest", "db=sha256:" + "a" * 64], "one of api, worker, web"),
        (["qa", "--tag", "1.4.0"], "unknown environment 'qa'; known: production, staging"),
    ],
)
def test_bad_arguments_stop_the_deploy_with_one_line_before_any_cluster_is_asked(
    arguments: list[str], message: str, tmp_path: Path
) -> None:
    script = Path(__file__).parents[2] / "scripts" / "deploy.py"
    # an empty kubeconfig: reaching for a cluster would fail differently from the message expected here
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "none")}
    command = [sys.executable, str(script), *arguments]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("deploy: ")
    assert message in result.stderr
