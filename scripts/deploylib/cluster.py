"""Reads from a real cluster through the kubernetes client (used by the scripts, not by unit tests)."""

from __future__ import annotations

from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException


def current_context() -> str | None:
    _, active = config.list_kube_config_contexts()
    return active["name"] if active else None


class Cluster:
    def __init__(self, context: str) -> None:
        config.load_kube_config(context=context)
        self.core = client.CoreV1Api()
        self.apps = client.AppsV1Api()
        self.batch = client.BatchV1Api()

    def namespace(self, name: str) -> client.V1Namespace | None:
        return _or_none(lambda: self.core.read_namespace(name))

    def secret(self, namespace: str, name: str) -> client.V1Secret | None:
        return _or_none(lambda: self.core.read_namespaced_secret(name, namespace))

    def claim(self, namespace: str, name: str) -> client.V1PersistentVolumeClaim | None:
        return _or_none(lambda: self.core.read_namespaced_persistent_volume_claim(name, namespace))

    def jobs(self, namespace: str) -> list[client.V1Job]:
        return list(self.batch.list_namespaced_job(namespace).items)

    def cronjob(self, namespace: str, name: str) -> client.V1CronJob:
        return self.batch.read_namespaced_cron_job(name, namespace)

    def create_job(self, namespace: str, job: client.V1Job) -> client.V1Job:
        return self.batch.create_namespaced_job(namespace, job)

    def job(self, namespace: str, name: str) -> client.V1Job:
        return self.batch.read_namespaced_job(name, namespace)

    def deployments(self, namespace: str, release: str) -> list[client.V1Deployment]:
        selector = f"app.kubernetes.io/instance={release}"
        return list(self.apps.list_namespaced_deployment(namespace, label_selector=selector).items)


def _or_none(read: Any) -> Any:
    try:
        return read()
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
