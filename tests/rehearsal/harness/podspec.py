"""A rendered pod template, read the way the kubelet reads it, turned into `docker run` arguments.

Every container runs on the host network, so two replicas cannot both listen on the rendered
containerPort. Each containerPort must therefore be set by an environment variable the chart renders
(PORT, MANAGEMENT_PORT); the harness gives each replica free ports through those variables. A port no
variable sets is a chart-to-app mismatch, and the rehearsal refuses the manifest.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

_BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "": 1}
LABEL = "io.docket.rehearsal"


class ManifestError(ValueError):
    """The rendered manifest asks for something the rehearsal cannot run as written; says what."""


def quantity_bytes(value: str | int) -> int:
    """A Kubernetes memory or storage quantity (512Mi, 1Gi, 1000M, 1048576) in bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i|[kMGT]?)", str(value))
    if not match:
        raise ManifestError(f"unreadable quantity {value!r}")
    number, unit = match.groups()
    return int(float(number) * (_BINARY.get(unit) or _DECIMAL[unit]))


def quantity_cpus(value: str | int | float) -> float:
    """A Kubernetes CPU quantity (500m, 1, 1.5) in cores."""
    text = str(value)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


@dataclass(frozen=True)
class Probe:
    """One httpGet, tcpSocket or exec probe with the rendered timings."""

    kind: str  # startup, readiness, liveness
    action: str  # httpGet, tcpSocket, exec
    port: int | None  # the containerPort
    path: str
    command: tuple[str, ...]
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    def describe(self) -> str:
        target = f"GET :{self.port}{self.path}" if self.action == "httpGet" else self.action
        return f"{self.kind} {target} every {self.period:g}s (fails after {self.failure_threshold})"


@dataclass
class ContainerSpec:
    """What the kubelet would run for one container of a pod."""

    name: str
    image: str
    command: list[str] | None
    args: list[str]
    env: dict[str, str]
    secret_env: set[str]
    user: str | None
    read_only_root: bool
    cap_drop: list[str]
    cap_add: list[str]
    no_new_privileges: bool
    memory_bytes: int | None
    cpus: float | None
    tmpfs: list[tuple[str, int | None]]  # (mount path, size)
    volumes: list[tuple[str, str, bool]]  # (named volume, mount path, read-only)
    ports: dict[str, int]  # port name -> containerPort
    port_env: dict[int, str]  # containerPort -> the env variable that sets it
    probes: dict[str, Probe] = field(default_factory=dict)
    pre_stop_sleep: float = 0.0
    pre_stop_exec: list[str] | None = None


@dataclass
class PodSpec:
    """A pod template: its labels, its one app container, its grace period and its fsGroup."""

    labels: dict[str, str]
    container: ContainerSpec
    grace_seconds: float
    fs_group: int | None
    restart_policy: str


class Objects:
    """The rendered objects by kind and name, to resolve references (ConfigMaps, Secrets, claims)."""

    def __init__(self, objects: Sequence[Obj]) -> None:
        self.all = list(objects)
        self.by_kind: dict[tuple[str, str], Obj] = {(o["kind"], o["metadata"]["name"]): o for o in objects}

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.all if o["kind"] == kind]

    def get(self, kind: str, name: str) -> Obj | None:
        return self.by_kind.get((kind, name))

    def config_map(self, name: str) -> dict[str, str]:
        found = self.get("ConfigMap", name)
        return {k: str(v) for k, v in ((found or {}).get("data") or {}).items()} if found else {}

    def secret(self, name: str) -> dict[str, str] | None:
        found = self.get("Secret", name)
        if found is None:
            return None
        data = {k: base64.b64decode(v).decode() for k, v in (found.get("data") or {}).items()}
        data.update({k: str(v) for k, v in (found.get("stringData") or {}).items()})
        return data


def _env(container: Obj, objects: Objects) -> tuple[dict[str, str], set[str]]:
    """envFrom first, then env, as the kubelet does; secret-sourced names are remembered for redaction."""
    env: dict[str, str] = {}
    secret: set[str] = set()
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if ref := source.get("configMapRef"):
            if objects.get("ConfigMap", ref["name"]) is None and not ref.get("optional"):
                raise ManifestError(f"envFrom names ConfigMap {ref['name']}, which the chart does not render")
            env.update({prefix + k: v for k, v in objects.config_map(ref["name"]).items()})
        if ref := source.get("secretRef"):
            data = objects.secret(ref["name"])
            if data is None and not ref.get("optional"):
                raise ManifestError(f"envFrom names Secret {ref['name']}, which the chart does not render")
            env.update({prefix + k: v for k, v in (data or {}).items()})
            secret.update(prefix + k for k in data or {})
    for item in container.get("env") or []:
        name = item["name"]
        if "value" in item:
            env[name] = str(item["value"])
            continue
        source = item.get("valueFrom") or {}
        if ref := source.get("secretKeyRef"):
            data = objects.secret(ref["name"]) or {}
            if ref["key"] in data:
                env[name] = data[ref["key"]]
                secret.add(name)
            elif not ref.get("optional"):
                raise ManifestError(f"env {name}: Secret {ref['name']} has no key {ref['key']}")
        elif ref := source.get("configMapKeyRef"):
            data = objects.config_map(ref["name"])
            if ref["key"] in data:
                env[name] = data[ref["key"]]
            elif not ref.get("optional"):
                raise ManifestError(f"env {name}: ConfigMap {ref['name']} has no key {ref['key']}")
        else:
            raise ManifestError(f"env {name}: unsupported valueFrom {sorted(source)}")
    return env, secret


def _probe(kind: str, raw: Obj | None, ports: Mapping[str, int]) -> Probe | None:
    if not raw:
        return None
    action = next((a for a in ("httpGet", "tcpSocket", "exec", "grpc") if a in raw), "")
    if action == "grpc" or not action:
        raise ManifestError(f"{kind} probe: unsupported action {action or 'none'}")
    port: int | None = None
    if action in ("httpGet", "tcpSocket"):
        named = raw[action]["port"]
        if isinstance(named, str) and not named.isdigit():
            if named not in ports:
                raise ManifestError(
                    f"{kind} probe names port {named!r}, which the container does not declare"
                )
            port = ports[named]
        else:
            port = int(named)
    return Probe(
        kind=kind,
        action=action,
        port=port,
        path=raw.get("httpGet", {}).get("path", "/") if action == "httpGet" else "",
        command=tuple(raw.get("exec", {}).get("command", ())),
        initial_delay=float(raw.get("initialDelaySeconds", 0)),
        period=float(raw.get("periodSeconds", 10)),
        timeout=float(raw.get("timeoutSeconds", 1)),
        success_threshold=int(raw.get("successThreshold", 1)),
        failure_threshold=int(raw.get("failureThreshold", 3)),
    )


def pod_spec(template: Obj, objects: Objects, claims_to_volumes: Mapping[str, str]) -> PodSpec:
    """Read a pod template (Deployment, Job or CronJob jobTemplate) into what `docker run` needs."""
    spec = template["spec"]
    if spec.get("initContainers"):
        raise ManifestError("init containers are not rehearsed yet")
    if len(spec["containers"]) != 1:
        raise ManifestError("the rehearsal runs pods of one container; this one has several")
    raw = spec["containers"][0]
    pod_security = spec.get("securityContext") or {}
    security = {**pod_security, **(raw.get("securityContext") or {})}
    env, secret_env = _env(raw, objects)
    ports = {p.get("name", str(p["containerPort"])): int(p["containerPort"]) for p in raw.get("ports") or []}
    port_env: dict[int, str] = {}
    for port in ports.values():
        setters = sorted(name for name, value in env.items() if value == str(port) and name.endswith("PORT"))
        if not setters:
            raise ManifestError(
                f"container {raw['name']}: containerPort {port} is set by no *PORT variable the chart renders"
            )
        port_env[port] = setters[0]
    volumes_by_name = {v["name"]: v for v in spec.get("volumes") or []}
    tmpfs: list[tuple[str, int | None]] = []
    named: list[tuple[str, str, bool]] = []
    for mount in raw.get("volumeMounts") or []:
        volume = volumes_by_name.get(mount["name"])
        if volume is None:
            raise ManifestError(f"volumeMount {mount['name']} names no volume of the pod")
        if "emptyDir" in volume:
            size = (volume["emptyDir"] or {}).get("sizeLimit")
            tmpfs.append((mount["mountPath"], quantity_bytes(size) if size else None))
        elif "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            if claim not in claims_to_volumes:
                raise ManifestError(
                    f"volume {mount['name']} claims {claim}, which is neither rendered nor given"
                )
            named.append((claims_to_volumes[claim], mount["mountPath"], bool(mount.get("readOnly"))))
        else:
            raise ManifestError(
                f"volume {mount['name']}: only emptyDir and persistentVolumeClaim are rehearsed"
            )
    limits = (raw.get("resources") or {}).get("limits") or {}
    user = security.get("runAsUser")
    group = security.get("runAsGroup")
    if security.get("runAsNonRoot") and user in (None, 0):
        raise ManifestError(f"container {raw['name']}: runAsNonRoot without a non-zero runAsUser")
    capabilities = security.get("capabilities") or {}
    pre_stop = ((raw.get("lifecycle") or {}).get("preStop")) or {}
    probes = {
        kind: probe
        for kind in ("startup", "readiness", "liveness")
        if (probe := _probe(kind, raw.get(f"{kind}Probe"), ports))
    }
    container = ContainerSpec(
        name=raw["name"],
        image=raw["image"],
        command=raw.get("command"),
        args=[str(a) for a in raw.get("args") or []],
        env=env,
        secret_env=secret_env,
        user=None if user is None else f"{user}:{group if group is not None else user}",
        read_only_root=bool(security.get("readOnlyRootFilesystem")),
        cap_drop=list(capabilities.get("drop") or []),
        cap_add=list(capabilities.get("add") or []),
        no_new_privileges=security.get("allowPrivilegeEscalation") is False,
        memory_bytes=quantity_bytes(limits["memory"]) if "memory" in limits else None,
        cpus=quantity_cpus(limits["cpu"]) if "cpu" in limits else None,
        tmpfs=tmpfs,
        volumes=named,
        ports=ports,
        port_env=port_env,
        probes=probes,
        pre_stop_sleep=float((pre_stop.get("sleep") or {}).get("seconds", 0)),
        pre_stop_exec=(pre_stop.get("exec") or {}).get("command"),
    )
    return PodSpec(
        labels=dict((template.get("metadata") or {}).get("labels") or {}),
        container=container,
        grace_seconds=float(spec.get("terminationGracePeriodSeconds", 30)),
        fs_group=pod_security.get("fsGroup"),
        restart_policy=spec.get("restartPolicy", "Always"),
    )


def docker_run_args(
    pod: str, spec: PodSpec, host_ports: Mapping[int, int], hosts: Mapping[str, str], run_id: str
) -> tuple[list[str], list[str]]:
    """`docker run` for a pod's container, and the same with secret values redacted (to print)."""
    c = spec.container
    env = dict(c.env)
    for container_port, host_port in host_ports.items():
        env[c.port_env[container_port]] = str(host_port)
    # seccompProfile RuntimeDefault is Docker's default profile: nothing to add
    argv = ["docker", "run", "-d", "--name", pod, "--network", "host", "--label", f"{LABEL}={run_id}"]
    if c.user:
        argv += ["--user", c.user]
    if spec.fs_group is not None:
        argv += ["--group-add", str(spec.fs_group)]
    if c.read_only_root:
        argv.append("--read-only")
    argv += [f"--cap-drop={cap}" for cap in c.cap_drop] + [f"--cap-add={cap}" for cap in c.cap_add]
    if c.no_new_privileges:
        argv += ["--security-opt", "no-new-privileges"]
    if c.memory_bytes:
        argv += ["--memory", str(c.memory_bytes), "--memory-swap", str(c.memory_bytes)]
    if c.cpus:
        argv += ["--cpus", f"{c.cpus:g}"]
    for path, size in c.tmpfs:
        options = "mode=1777" + (f",size={size}" if size else "")
        argv += ["--tmpfs", f"{path}:{options}"]
    for volume, path, read_only in c.volumes:
        argv += ["-v", f"{volume}:{path}{':ro' if read_only else ''}"]
    for name, address in sorted(hosts.items()):
        argv += ["--add-host", f"{name}:{address}"]
    shown = list(argv)
    for name, value in sorted(env.items()):
        argv += ["-e", f"{name}={value}"]
        shown += ["-e", f"{name}={'<secret>' if name in c.secret_env else value}"]
    # command replaces the image's entrypoint, args its CMD; Docker takes the entrypoint's first word only
    rest: list[str] = []
    if c.command:
        argv += ["--entrypoint", c.command[0]]
        shown += ["--entrypoint", c.command[0]]
        rest = list(c.command[1:])
    tail = [c.image, *rest, *c.args]
    return argv + tail, shown + tail
