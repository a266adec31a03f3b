"""Pre- and post-deploy decisions, as pure functions over the kubernetes client's own models."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable

from kubernetes.client import V1Deployment, V1Job, V1Namespace, V1Secret

RESTRICTED_LABEL = "pod-security.kubernetes.io/enforce"


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
