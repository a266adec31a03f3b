"""A one-off Job from a CronJob's template: what `kubectl create job --from=cronjob/…` does."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubernetes.client import V1CronJob, V1Job, V1ObjectMeta, V1OwnerReference


def job_from_cronjob(cronjob: V1CronJob, name: str, command: list[str] | None = None) -> V1Job:
    """A Job with the CronJob's pod template (optionally another command), owned by the CronJob."""
    template = cronjob.spec.job_template
    spec: Any = template.spec
    if command is not None:
        spec.template.spec.containers[0].args = command
    annotations = {**(template.metadata.annotations or {} if template.metadata else {})}
    annotations["cronjob.kubernetes.io/instantiate"] = "manual"
    return V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=V1ObjectMeta(
            name=name,
            namespace=cronjob.metadata.namespace,
            labels=dict(template.metadata.labels or {}) if template.metadata else {},
            annotations=annotations,
            owner_references=[
                V1OwnerReference(
                    api_version="batch/v1",
                    kind="CronJob",
                    name=cronjob.metadata.name,
                    uid=cronjob.metadata.uid,
                )
            ],
        ),
        spec=spec,
    )


def job_name(prefix: str, now: dt.datetime) -> str:
    return f"{prefix}-{int(now.timestamp())}"[:63]


def job_outcome(job: V1Job) -> str | None:
    """'succeeded', 'failed', or None while it runs."""
    status = job.status
    if status is None:
        return None
    for condition in status.conditions or []:
        if condition.status == "True" and condition.type in ("Complete", "SuccessCriteriaMet"):
            return "succeeded"
        if condition.status == "True" and condition.type == "Failed":
            return "failed"
    return None
