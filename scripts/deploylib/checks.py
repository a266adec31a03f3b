"""Pre- and post-deploy decisions, as pure functions over the kubernetes client's own models."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Iterable

from kubernetes.client import V1Deployment, V1Job, V1Namespace, V1PersistentVolumeClaim, V1Secret

RESTRICTED_LABEL = "pod-security.kubernetes.io/enforce"
PLACEHOLDER_OWNER = "OWNER"
DOCKER_CONFIG_TYPE = "kubernetes.io/dockerconfigjson"


def check_context(current: str | None, expected: str) -> list[str]:
    if current != expected:
        return [f"kube context is {current!r}, but this environment deploys with {expected!r}"]
    return []


def check_namespace(namespace: V1Namespace | None, name: str) -> list[str]:
    if namespace is None:
        return [f"namespace {name} does not exist"]
    labels = namespace.metadata.labels or {}
    if labels.get(RESTRICTED_LABEL) != "restricted":
        return [f"namespace {name} does not enforce the restricted Pod Security profile ({RESTRICTED_LABEL})"]
    return []


def check_secret(secret: V1Secret | None, name: str, keys: Iterable[str]) -> list[str]:
    if secret is None:
        return [f"secret {name} does not exist"]
    data = {**(secret.data or {}), **(secret.string_data or {})}
    problems = []
    for key in keys:
        if key not in data:
            problems.append(f"secret {name} has no key {key}")
        elif secret.data and key in secret.data and not base64.b64decode(secret.data[key]):
            problems.append(f"secret {name} key {key} is empty")
    return problems


def check_registry(registry: str) -> list[str]:
    """The registry is filled in and lowercase (OCI references, GHCR's included, allow no capitals)."""
    if PLACEHOLDER_OWNER in registry.split("/"):
        return [f"registry {registry} still holds the placeholder {PLACEHOLDER_OWNER}: pass --registry"]
    if registry != registry.lower():
        return [f"registry {registry} has capital letters; image and chart references must be lowercase"]
    return []


def check_pull_secret(secret: V1Secret | None, name: str, registry_host: str) -> list[str]:
    """A dockerconfigjson Secret with credentials for ``registry_host``, for the pods' imagePullSecrets."""
    if secret is None:
        return [f"image pull secret {name} does not exist, so no pod could pull from {registry_host}"]
    if secret.type != DOCKER_CONFIG_TYPE:
        return [f"image pull secret {name} is of type {secret.type}, not {DOCKER_CONFIG_TYPE}"]
    try:
        config = json.loads(base64.b64decode((secret.data or {}).get(".dockerconfigjson", "")))
    except (binascii.Error, ValueError):
        return [f"image pull secret {name} holds no readable .dockerconfigjson"]
    auths = config.get("auths", {}) if isinstance(config, dict) else {}
    hosts = {key.removeprefix("https://").removeprefix("http://").split("/", 1)[0] for key in auths}
    if registry_host not in hosts:
        return [f"image pull secret {name} has no credentials for {registry_host}"]
    return []


def check_backup_claim(claim: V1PersistentVolumeClaim | None, name: str) -> list[str]:
    """The backups' claim exists before the release (a first install must not wait for it to bind)."""
    if claim is None:
        return [f"persistentvolumeclaim {name} (the backups) does not exist; create it first"]
    return []


def last_successful_backup(jobs: Iterable[V1Job], cronjob: str) -> dt.datetime | None:
    """When the newest successful Job of ``cronjob`` finished."""
    finished = []
    for job in jobs:
        owners = job.metadata.owner_references or []
        if not any(owner.kind == "CronJob" and owner.name == cronjob for owner in owners):
            continue
        if job.status and job.status.succeeded and job.status.completion_time:
            finished.append(job.status.completion_time)
    return max(finished) if finished else None


def check_backup_age(
    jobs: Iterable[V1Job], cronjob: str, max_age_hours: float, now: dt.datetime
) -> list[str]:
    last = last_successful_backup(jobs, cronjob)
    if last is None:
        return [f"no successful backup from cronjob/{cronjob}; run scripts/backup-now.py first"]
    age = (now - last).total_seconds() / 3600
    if age > max_age_hours:
        return [
            f"the last backup finished {age:.1f} h ago (limit {max_age_hours:g} h); run scripts/backup-now.py"
        ]
    return []


def check_backup_before_deploy(
    release_exists: bool, jobs: Iterable[V1Job], cronjob: str, max_age_hours: float, now: dt.datetime
) -> list[str]:
    """An installed release has data to lose, so its last backup must be recent; a first install has none."""
    if not release_exists:
        return []
    return check_backup_age(jobs, cronjob, max_age_hours, now)


def check_rollout(deployments: Iterable[V1Deployment]) -> list[str]:
    """Every Deployment has observed its spec and all replicas are updated and available."""
    problems = []
    for deployment in deployments:
        name = deployment.metadata.name
        wanted = deployment.spec.replicas if deployment.spec.replicas is not None else 1
        status = deployment.status
        if (status.observed_generation or 0) < (deployment.metadata.generation or 0):
            problems.append(f"deployment/{name} has not observed its latest spec")
        elif (status.updated_replicas or 0) < wanted or (status.available_replicas or 0) < wanted:
            problems.append(
                f"deployment/{name}: {status.updated_replicas or 0} updated and "
                f"{status.available_replicas or 0} available of {wanted}"
            )
    return problems


def check_pinned_images(
    deployments: Iterable[V1Deployment], registry: str, pinned: Iterable[str]
) -> list[str]:
    """Every Docket container of the release runs one of the digest-pinned references."""
    wanted = set(pinned)
    prefix = f"{registry.rstrip('/')}/docket-"
    problems = []
    for deployment in deployments:
        for container in deployment.spec.template.spec.containers:
            if container.image.startswith(prefix) and container.image not in wanted:
                problems.append(
                    f"deployment/{deployment.metadata.name} runs {container.image}, not a digest-pinned image"
                )
    return problems
