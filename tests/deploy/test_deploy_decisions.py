"""The deploy tooling's decisions, fed with the kubernetes client's own models, and its Helm command lines."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from deploylib import checks, helm
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
    V1PodSpec,
    V1PodTemplateSpec,
    V1Secret,
)

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
ENV = load_environment("staging")


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


def test_rollout_is_complete_only_when_every_replica_is_updated_and_available() -> None:
    assert checks.check_rollout([_deployment("api", 3, 3, 3), _deployment("web", 2, 2, 2)]) == []
    assert "1 updated and 3 available of 3" in checks.check_rollout([_deployment("api", 3, 1, 3)])[0]
    assert "not observed" in checks.check_rollout([_deployment("api", 3, 3, 3, generation=3, observed=2)])[0]


def test_upgrade_command_is_atomic_waits_and_pins_context_namespace_and_tag() -> None:
    command = helm.upgrade_command(ENV, "1.4.0")
    assert command[:5] == ["helm", "upgrade", "--install", "docket", "charts/docket"]
    for flag in ("--atomic", "--wait"):
        assert flag in command
    assert command[command.index("--namespace") + 1] == "docket"
    assert command[command.index("--kube-context") + 1] == "staging"
    assert "global.image.tag=1.4.0" in command
    values = [command[i + 1] for i, arg in enumerate(command) if arg == "--values"]
    assert values == list(ENV.values)


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
    from pathlib import Path

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
