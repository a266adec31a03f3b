"""Deployments at the rendered replica count with rolling updates, hook Jobs in Helm's order, and
CronJobs' jobTemplates run on demand."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from embedded_services import free_port

from harness.log import say
from harness.pods import Pod, docker
from harness.podspec import Obj, Objects, PodSpec, pod_spec

HOOK_KIND_ORDER = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)  # Helm's InstallOrder (pkg/releaseutil/kind_sorter.go)


class RolloutError(RuntimeError):
    """A rollout or a hook did not succeed; the message names the pods and their last probe results."""


class Ports:
    """Free loopback ports handed out once each, for the replicas' PORT and MANAGEMENT_PORT."""

    def __init__(self) -> None:
        self._given: set[int] = set()
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            while (port := free_port()) in self._given:
                pass
            self._given.add(port)
            return port


class Context:
    """What every pod of a release shares: the rendered objects, names to addresses, claims, ports."""

    def __init__(
        self,
        objects: Objects,
        hosts: dict[str, str],
        claims: dict[str, str],
        run_id: str,
        on_change: Callable[[Pod], None],
    ) -> None:
        self.objects = objects
        self.hosts = hosts
        self.claims = claims
        self.run_id = run_id
        self.on_change = on_change
        self.ports = Ports()
        self.log_dir: Path | None = None
        self._grouped: set[str] = set()
        self._serial = itertools.count(1)

    def _apply_fs_group(self, spec: PodSpec) -> None:
        """The kubelet gives a claim's volume to the pod's fsGroup (group-owned, setgid) when it mounts it."""
        for volume, _, _ in spec.container.volumes:
            if spec.fs_group is None or volume in self._grouped:
                continue
            docker(
                "run", "--rm", "--user", "0", "--network", "none", "--entrypoint", "sh", "-v", f"{volume}:/v",
                spec.container.image, "-c", f"chgrp -R {spec.fs_group} /v && chmod 2775 /v",
            )  # fmt: skip
            self._grouped.add(volume)

    def pod(self, base: str, spec: PodSpec) -> Pod:
        self._apply_fs_group(spec)
        name = f"{self.run_id}-{base}-{next(self._serial)}"
        host_ports = {port: self.ports.take() for port in spec.container.ports.values()}
        pod = Pod(name, spec, host_ports, self.hosts, self.run_id, self.on_change)
        pod.log_dir = self.log_dir
        return pod


def _surge(value: int | str, replicas: int, *, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = replicas * int(value[:-1]) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


class Deployment:
    """A Deployment's pods: created at the rendered count, replaced by its rolling-update strategy."""

    def __init__(self, obj: Obj, context: Context) -> None:
        self.name = obj["metadata"]["name"]
        self.context = context
        self.pods: list[Pod] = []
        self.history: list[Pod] = []  # every pod it ever ran, for the memory figures
        self._apply(obj)

    def _apply(self, obj: Obj) -> None:
        self.obj = obj
        self.replicas = int(obj["spec"].get("replicas", 1))
        self.spec = pod_spec(obj["spec"]["template"], self.context.objects, self.context.claims)
        self.min_ready = float(obj["spec"].get("minReadySeconds", 0))
        strategy = obj["spec"].get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        self.strategy = strategy.get("type", "RollingUpdate")
        self.max_surge = _surge(rolling.get("maxSurge", "25%"), self.replicas, round_up=True)
        self.max_unavailable = _surge(rolling.get("maxUnavailable", "25%"), self.replicas, round_up=False)
        if self.max_surge == 0 and self.max_unavailable == 0:
            raise RolloutError(f"deployment {self.name}: maxSurge and maxUnavailable are both 0")

    def create(self) -> None:
        say(f"deployment {self.name}: {self.replicas} replicas")
        self.pods = [self._new_pod() for _ in range(self.replicas)]

    def _new_pod(self) -> Pod:
        pod = self.context.pod(self.name, self.spec).start()
        self.history.append(pod)
        return pod

    def ready_pods(self) -> list[Pod]:
        return [pod for pod in self.pods if pod.ready and not pod.terminating]

    def wait_ready(self, timeout: float, pods: Sequence[Pod] | None = None) -> None:
        """Wait until ``pods`` (all of them by default) are ready; RolloutError says which are not."""
        waiting = list(pods if pods is not None else self.pods)
        deadline = time.monotonic() + timeout
        while not all(pod.ready for pod in waiting):
            if time.monotonic() > deadline or any(pod.phase == "Failed" for pod in waiting):
                raise RolloutError(
                    f"deployment {self.name}: not ready within {timeout:g}s: "
                    + "; ".join(pod.describe() for pod in waiting if not pod.ready)
                )
            time.sleep(0.2)
        if self.min_ready:
            time.sleep(self.min_ready)

    def rolling_update(self, obj: Obj, timeout: float = 300) -> None:
        """Replace every pod by the new template: at most replicas+maxSurge pods, and at least
        replicas-maxUnavailable ready ones, at any time (the Deployment controller's rule)."""
        self._apply(obj)
        old = list(self.pods)
        say(
            f"deployment {self.name}: rolling update of {len(old)} pods (maxSurge {self.max_surge}, "
            f"maxUnavailable {self.max_unavailable})"
        )
        new: list[Pod] = []
        terminating: list[threading.Thread] = []
        deadline = time.monotonic() + timeout
        while old or len(new) < self.replicas:
            room = self.replicas + self.max_surge - len(old) - len(new)
            batch = [self._new_pod() for _ in range(min(room, self.replicas - len(new)))]
            new += batch
            self.pods = old + new
            self.wait_ready(max(1.0, deadline - time.monotonic()), new)
            can_go = len(old) + len([p for p in new if p.ready]) - (self.replicas - self.max_unavailable)
            for pod in old[: max(0, can_go)]:
                thread = threading.Thread(target=pod.terminate, daemon=True)
                thread.start()
                terminating.append(thread)
            old = old[max(0, can_go) :]
            self.pods = old + new
        for thread in terminating:
            thread.join()
        self.pods = new
        say(f"deployment {self.name}: rolled out ({len(new)} ready)")

    def replace(self, pod: Pod) -> Pod:
        """The pod is gone (deleted, its node lost): the ReplicaSet starts a replacement at once."""
        pod.delete_now()
        fresh = self._new_pod()
        self.pods = [p for p in self.pods if p is not pod] + [fresh]
        self.context.on_change(pod)
        return fresh

    def delete(self) -> None:
        with ThreadPoolExecutor(max(1, len(self.pods))) as pool:
            list(pool.map(lambda pod: pod.remove(), self.pods))
        self.pods = []


def hook_order(objects: Sequence[Obj], event: str) -> list[Obj]:
    """The hooks of ``event`` (pre-install, pre-upgrade, ...) in Helm's order: weight, kind, name."""
    hooks = [
        o
        for o in objects
        if event
        in ((o["metadata"].get("annotations") or {}).get("helm.sh/hook", "")).replace(" ", "").split(",")
    ]

    def key(obj: Obj) -> tuple[int, int, str]:
        weight = int((obj["metadata"].get("annotations") or {}).get("helm.sh/hook-weight", "0"))
        kind = HOOK_KIND_ORDER.index(obj["kind"]) if obj["kind"] in HOOK_KIND_ORDER else len(HOOK_KIND_ORDER)
        return weight, kind, obj["metadata"]["name"]

    return sorted(hooks, key=key)


def run_job(template: Obj, name: str, context: Context, backoff_limit: int, deadline: float) -> Pod:
    """A Job: pods of its template until one succeeds, at most backoffLimit+1; RolloutError otherwise."""
    spec = pod_spec(template, context.objects, context.claims)
    for attempt in range(backoff_limit + 1):
        pod = context.pod(name, spec).start()
        code = pod.wait_finished(deadline)
        if code == 0:
            say(f"job {name}: succeeded (attempt {attempt + 1})")
            return pod
        say(f"job {name}: attempt {attempt + 1} exited {code}:\n{pod.logs(40)}")
        pod.remove()
    raise RolloutError(f"job {name} failed {backoff_limit + 1} times")


def run_job_spec(spec: Obj, name: str, context: Context) -> Pod:
    """A Job's spec, run under its backoffLimit (6 when unset, as in Kubernetes) and a deadline (600 s)."""
    return run_job(
        spec["template"],
        name,
        context,
        int(spec.get("backoffLimit", 6)),
        float(spec.get("activeDeadlineSeconds", 600)),
    )


def run_job_object(obj: Obj, context: Context) -> Pod:
    return run_job_spec(obj["spec"], obj["metadata"]["name"], context)


def run_cronjob(obj: Obj, context: Context) -> Pod:
    """`kubectl create job --from=cronjob/NAME`: the jobTemplate, now."""
    return run_job_spec(obj["spec"]["jobTemplate"]["spec"], obj["metadata"]["name"], context)
