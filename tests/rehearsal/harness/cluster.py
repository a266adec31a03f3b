"""One release of the umbrella chart, rehearsed: datastores, the edge, hooks, Deployments, CronJobs."""

from __future__ import annotations

import secrets
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from embedded_services import free_port

from harness.datastores import POSTGRES_SERVICE, REDIS_SERVICE, Datastores
from harness.edge import Edge
from harness.log import say
from harness.pods import Pod, docker
from harness.podspec import Obj, Objects
from harness.render import ROOT, VALUES_FILE, rehearsal_values, render
from harness.workloads import Context, Deployment, RolloutError, hook_order, run_cronjob, run_job_object

READY_TIMEOUT = 180.0
PostRender = Callable[[list[Obj]], list[Obj]]


class Cluster:
    """The release running in Docker behind a local nginx, with the embedded PostgreSQL and Redis."""

    def __init__(
        self, *overrides: Mapping[str, Any], post_render: PostRender | None = None, tree: Path = ROOT
    ) -> None:
        self.tree = tree  # whose charts and rehearsal values: this checkout's, or a previous release's
        self.run_id = f"reh{uuid.uuid4().hex[:6]}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"docket-{self.run_id}-"))
        self.overrides = list(overrides)
        self.post_render = post_render or (lambda objects: objects)
        self.datastores = Datastores()
        self.deployments: dict[str, Deployment] = {}
        self.job_pods: list[Pod] = []
        self.volumes: dict[str, str] = {}
        self.edge: Edge | None = None
        self.context: Context | None = None
        self.objects = Objects([])
        # no API server: `lookup` finds nothing, so generated secrets would change on every render;
        # the harness passes them as values, as an operator's existing Secret would keep them
        self.generated = {
            "api": {"secrets": {"JWT_SECRET": secrets.token_urlsafe(32)}},
            "web": {"secrets": {"CSRF_SECRET": secrets.token_urlsafe(32)}},
        }

    # ---- rendering

    @property
    def image_tag(self) -> str:
        """The image tag the release was installed with."""
        return str(self.values().get("global", {}).get("image", {}).get("tag", ""))

    def values(self, *more: Mapping[str, Any]) -> dict[str, Any]:
        values_file = self.tree / VALUES_FILE.relative_to(ROOT)
        return rehearsal_values(self.generated, *self.overrides, *more, values_file=values_file)

    def render(self, values: Mapping[str, Any], *, upgrade: bool = False) -> list[Obj]:
        objects = self.post_render(render(values, upgrade=upgrade, charts=self.tree / "charts"))
        say(f"rendered {len(objects)} objects: " + ", ".join(sorted({o["kind"] for o in objects})))
        return objects

    # ---- install and upgrade

    def install(self, *more: Mapping[str, Any], timeout: float = READY_TIMEOUT) -> None:
        """`helm install --wait`: pre-install hooks, the objects, every pod ready, post-install hooks."""
        objects = self.render(self.values(*more))
        self.datastores.start()
        self.objects = Objects(objects)
        release = [o for o in objects if "helm.sh/hook" not in (o["metadata"].get("annotations") or {})]
        self.edge = Edge(
            self.dir / "edge",
            [o for o in release if o["kind"] == "Service"],
            [o for o in release if o["kind"] == "Ingress"],
            self.pods,
            free_port(),
            free_port(),
            {
                POSTGRES_SERVICE[0]: (POSTGRES_SERVICE[1], self.datastores.postgres.port),
                REDIS_SERVICE[0]: (REDIS_SERVICE[1], self.datastores.redis.port),
            },
        )
        self.context = Context(
            self.objects, self.edge.addresses, self.volumes, self.run_id, self._pod_changed
        )
        self.context.log_dir = self.dir / "logs"
        self.context.log_dir.mkdir()
        self.edge.start()
        self._run_hooks(objects, "pre-install")
        self._create_claims(release)
        for obj in release:
            if obj["kind"] == "Deployment":
                deployment = Deployment(obj, self.context)
                self.deployments[deployment.name] = deployment
                deployment.create()
        for deployment in self.deployments.values():
            deployment.wait_ready(timeout)
        self._run_hooks(objects, "post-install")
        self.status()

    def upgrade(
        self, *more: Mapping[str, Any], timeout: float = READY_TIMEOUT, tree: Path | None = None
    ) -> None:
        """`helm upgrade --wait`: pre-upgrade hooks while the old pods serve, then rolling updates,
        then post-upgrade hooks; ``tree`` upgrades to another checkout's charts (a new release)."""
        assert self.context is not None
        self.tree = tree or self.tree
        objects = self.render(self.values(*more), upgrade=True)
        self.objects = Objects(objects)
        self.context.objects = self.objects
        self._run_hooks(objects, "pre-upgrade")
        changed = [
            (self.deployments[obj["metadata"]["name"]], obj)
            for obj in objects
            if obj["kind"] == "Deployment"
            and obj["metadata"]["name"] in self.deployments
            and obj["spec"]["template"] != self.deployments[obj["metadata"]["name"]].obj["spec"]["template"]
        ]
        # the Deployment controller rolls every changed Deployment at once
        with ThreadPoolExecutor(max(1, len(changed))) as pool:
            for done in [pool.submit(d.rolling_update, obj, timeout) for d, obj in changed]:
                done.result()
        self._run_hooks(objects, "post-upgrade")
        self.status()

    def _run_hooks(self, objects: Sequence[Obj], event: str) -> None:
        assert self.context is not None
        for hook in hook_order(objects, event):
            kind, name = hook["kind"], hook["metadata"]["name"]
            say(f"hook {event}: {kind}/{name}")
            if kind == "Job":
                self.job_pods.append(run_job_object(hook, self.context))
            elif kind == "PersistentVolumeClaim":
                self._create_claims([hook])

    def _create_claims(self, objects: Sequence[Obj]) -> None:
        """Each PersistentVolumeClaim becomes a Docker named volume."""
        for obj in objects:
            if obj["kind"] != "PersistentVolumeClaim" or obj["metadata"]["name"] in self.volumes:
                continue
            volume = f"{self.run_id}-{obj['metadata']['name']}"
            docker("volume", "create", "--label", f"io.docket.rehearsal={self.run_id}", volume)
            self.volumes[obj["metadata"]["name"]] = volume
            say(f"claim {obj['metadata']['name']}: docker volume {volume}")

    # ---- running

    def pods(self) -> list[Pod]:
        return [pod for deployment in self.deployments.values() for pod in deployment.pods]

    def _pod_changed(self, pod: Pod) -> None:
        if self.edge is not None:
            self.edge.refresh()

    def deployment(self, name: str) -> Deployment:
        return self.deployments[name]

    def cronjob(self, name: str) -> Pod:
        """Run a CronJob's jobTemplate now; the finished pod (its logs, its exit code)."""
        assert self.context is not None
        found = self.objects.get("CronJob", name)
        if found is None:
            raise RolloutError(f"the chart renders no CronJob {name}")
        pod = run_cronjob(found, self.context)
        self.job_pods.append(pod)
        return pod

    @property
    def url(self) -> str:
        assert self.edge is not None
        return f"https://127.0.0.1:{self.edge.https_port}"

    def status(self) -> None:
        for pod in self.pods():
            say(pod.describe())

    def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        """Seconds until ``condition`` holds; RolloutError after ``timeout``."""
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                self.status()
                raise RolloutError(f"{what}: not within {timeout:g}s")
            time.sleep(0.1)
        return time.monotonic() - started

    def teardown(self) -> None:
        say(f"teardown of {self.run_id}")
        for deployment in self.deployments.values():
            deployment.delete()
        for pod in self.job_pods:
            pod.remove()
        if self.edge is not None:
            self.edge.stop()
        for volume in self.volumes.values():
            docker("volume", "rm", "-f", volume, check=False)
        self.datastores.stop()
        say(f"pod logs and the nginx config and logs are kept in {self.dir}")
