"""One pod as the kubelet runs it: its container in Docker, its probes at the rendered timings,
restarts when liveness fails or the container dies, and termination with preStop and the grace period."""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker as docker_sdk

from harness.log import say
from harness.podspec import PodSpec, Probe, docker_run_args

BACKOFF_START = 10.0  # the kubelet's crash-loop back-off: 10 s, doubling up to 5 minutes
BACKOFF_MAX = 300.0
BACKOFF_RESET = 600.0  # ... reset once a container has run for 10 minutes
TICK = 0.2


@functools.cache
def engine() -> docker_sdk.DockerClient:
    return docker_sdk.from_env(timeout=30)


def docker(*argv: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, check=check, timeout=timeout)


@dataclass
class ProbeResult:
    ok: bool
    detail: str


def run_probe(probe: Probe, host_ports: Mapping[int, int], container: str) -> ProbeResult:
    """One attempt of a probe, against the pod's own host port, within the probe's timeout."""
    port = host_ports.get(probe.port or 0, probe.port or 0)
    try:
        if probe.action == "httpGet":
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=probe.timeout)
            try:
                conn.request("GET", probe.path, headers={"User-Agent": "kube-probe/1.34"})
                response = conn.getresponse()
                status, body = response.status, response.read(300)
            finally:
                conn.close()
            ok = 200 <= status < 400
            # a failure's body (readiness names each check's result) says which dependency it was
            said = "" if ok else " " + body.decode(errors="replace").strip()
            return ProbeResult(ok, f"GET {probe.path} -> {status}{said}")
        if probe.action == "tcpSocket":
            with socket.create_connection(("127.0.0.1", port), timeout=probe.timeout):
                return ProbeResult(True, f"tcp {port} open")
        done = docker("exec", container, *probe.command, check=False, timeout=probe.timeout)
        return ProbeResult(done.returncode == 0, f"exec -> {done.returncode}")
    except (OSError, http.client.HTTPException, subprocess.TimeoutExpired) as exc:
        return ProbeResult(False, f"{probe.action} :{port}{probe.path} {type(exc).__name__}")


class ProbeState:
    """Consecutive successes and failures of one probe, and when it runs next."""

    def __init__(self, probe: Probe, now: float) -> None:
        self.probe = probe
        self.next_at = now + probe.initial_delay
        self.successes = 0
        self.failures = 0
        self.last = ProbeResult(False, "not run yet")

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def record(self, result: ProbeResult, now: float) -> None:
        self.last = result
        self.next_at = now + self.probe.period
        if result.ok:
            self.successes, self.failures = self.successes + 1, 0
        else:
            self.successes, self.failures = 0, self.failures + 1


class Pod:
    """A pod of one container: started at once, watched in a thread until it is terminated."""

    def __init__(
        self,
        name: str,
        spec: PodSpec,
        host_ports: Mapping[int, int],
        hosts: Mapping[str, str],
        run_id: str,
        on_change: Callable[[Pod], None] = lambda pod: None,
    ) -> None:
        self.name = name
        self.spec = spec
        self.host_ports = dict(host_ports)
        self.hosts = dict(hosts)
        self.run_id = run_id
        self.on_change = on_change
        self.ready = False
        self.started = False
        self.restarts = 0
        self.terminating = False
        self.exit_codes: list[int] = []
        self.oom_killed = 0
        self.phase = "Pending"
        self.events: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"pod-{name}", daemon=True)
        self._probes: dict[str, ProbeState] = {}
        self._container_started_at = 0.0
        self.peak_memory_bytes = 0
        self.container_id = ""
        self.log_dir: Path | None = None  # where remove() keeps the container's log

    # ---- what others read

    def port(self, container_port: int) -> int:
        """The host port this pod's container listens on for ``container_port``."""
        return self.host_ports[container_port]

    def named_port(self, name: str) -> int:
        return self.host_ports[self.spec.container.ports[name]]

    @property
    def labels(self) -> dict[str, str]:
        return self.spec.labels

    def describe(self) -> str:
        probes = ", ".join(f"{k}: {s.last.detail}" for k, s in self._probes.items())
        return f"pod {self.name} {self.phase} ready={self.ready} restarts={self.restarts} ({probes})"

    # ---- lifecycle

    def start(self) -> Pod:
        self._run_container()
        self._thread.start()
        return self

    def _run_container(self) -> None:
        docker("rm", "-f", self.name, check=False)
        argv, shown = docker_run_args(self.name, self.spec, self.host_ports, self.hosts, self.run_id)
        say("run " + " ".join(shown))
        started = docker(*argv[1:], check=False)
        if started.returncode != 0:
            self._event(f"docker run failed: {started.stderr.strip()}")
            self.phase = "Failed"
            return
        self.container_id = started.stdout.strip()
        self._container_started_at = time.monotonic()
        self.started = False
        self._probes = {
            kind: ProbeState(probe, time.monotonic()) for kind, probe in self.spec.container.probes.items()
        }
        self._set_phase("Running")

    def _event(self, message: str) -> None:
        self.events.append(message)
        say(f"pod {self.name}: {message}")

    def _set_phase(self, phase: str) -> None:
        if phase != self.phase:
            self.phase = phase
            say(f"pod {self.name}: {phase} (restarts {self.restarts})")

    def _set_ready(self, ready: bool, why: str) -> None:
        if ready != self.ready:
            self.ready = ready
            say(f"pod {self.name}: {'Ready' if ready else 'NotReady'} ({why})")
            self.on_change(self)

    def state(self) -> dict[str, Any]:
        """Docker's view of the container: Status, ExitCode, OOMKilled, Pid (over the engine's socket:
        a `docker inspect` process a second per pod would cost a busy 2-core machine a third of a core)."""
        try:
            return dict(engine().api.inspect_container(self.name)["State"])
        except docker_sdk.errors.NotFound:
            return {"Status": "missing"}

    def _watch(self) -> None:
        last_state_check = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if self.phase == "Failed":
                break
            if now - last_state_check >= 1.0:
                last_state_check = now
                state = self.state()
                if state.get("Status") == "running":
                    self.memory_peak()
                elif not self.terminating:
                    self._container_exited(state)
                    continue
            self._probe_once(now)
            self._stop.wait(TICK)

    def _probe_once(self, now: float) -> None:
        startup = self._probes.get("startup")
        if not self.started:
            if startup is None:
                self.started = True
            elif startup.due(now):
                startup.record(run_probe(startup.probe, self.host_ports, self.name), now)
                if startup.last.ok:
                    self.started = True
                    say(f"pod {self.name}: started ({startup.last.detail})")
                elif startup.failures >= startup.probe.failure_threshold:
                    self._restart(f"startup probe failed {startup.failures} times: {startup.last.detail}")
                    return
            if not self.started:
                return
        liveness = self._probes.get("liveness")
        if liveness is not None and liveness.due(now):
            liveness.record(run_probe(liveness.probe, self.host_ports, self.name), now)
            if liveness.failures >= liveness.probe.failure_threshold:
                self._restart(f"liveness probe failed {liveness.failures} times: {liveness.last.detail}")
                return
        readiness = self._probes.get("readiness")
        if readiness is None:
            self._set_ready(not self.terminating, "no readiness probe")
        elif readiness.due(now) and not self.terminating:
            readiness.record(run_probe(readiness.probe, self.host_ports, self.name), now)
            if readiness.successes >= readiness.probe.success_threshold:
                self._set_ready(True, readiness.last.detail)
            elif readiness.failures >= readiness.probe.failure_threshold:
                self._set_ready(
                    False, f"readiness failed {readiness.failures} times: {readiness.last.detail}"
                )

    def _container_exited(self, state: Mapping[str, object]) -> None:
        code = int(state.get("ExitCode", -1) or 0) if state.get("Status") != "missing" else -1
        self.exit_codes.append(code)
        if state.get("OOMKilled"):
            self.oom_killed += 1
        self._set_ready(
            False, f"container exited with {code}{' (OOMKilled)' if state.get('OOMKilled') else ''}"
        )
        if code not in (0, 137):
            say(f"pod {self.name}: last log lines:\n{self.logs(15)}")
        if self.spec.restart_policy == "Never" or (self.spec.restart_policy == "OnFailure" and code == 0):
            self._set_phase("Succeeded" if code == 0 else "Failed")
            self._stop.set()
            return
        self._restart(f"container exited with {code}")

    def _restart(self, why: str) -> None:
        """Kill the container and start it again after the crash-loop back-off."""
        self._event(f"restarting: {why}")
        self._set_ready(False, why)
        docker("kill", "--signal", "KILL", self.name, check=False)
        ran = time.monotonic() - self._container_started_at
        backoff = min(BACKOFF_MAX, BACKOFF_START * 2 ** (self.restarts - 1))
        delay = 0.0 if self.restarts == 0 or ran >= BACKOFF_RESET else backoff
        self.restarts += 1
        self._set_phase("CrashLoopBackOff" if delay else "Restarting")
        if self._stop.wait(delay):
            return
        self._run_container()

    def wait_finished(self, timeout: float) -> int:
        """For Job pods: wait until the container exits; its exit code."""
        deadline = time.monotonic() + timeout
        while self.phase not in ("Succeeded", "Failed"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.describe()} did not finish within {timeout:g}s")
            time.sleep(0.2)
        return self.exit_codes[-1] if self.exit_codes else -1

    def memory_peak(self) -> int:
        """The container's peak memory use (cgroup v1 max_usage_in_bytes, or v2 memory.peak), in bytes."""
        ident = self.container_id
        if self._stop.is_set():
            return self.peak_memory_bytes  # gone: what was read while it ran
        for path in (
            f"/sys/fs/cgroup/memory/docker/{ident}/memory.max_usage_in_bytes",
            f"/sys/fs/cgroup/system.slice/docker-{ident}.scope/memory.peak",
        ):
            with contextlib.suppress(OSError, ValueError), open(path) as handle:
                self.peak_memory_bytes = max(self.peak_memory_bytes, int(handle.read()))
        return self.peak_memory_bytes

    def logs(self, tail: int = 200) -> str:
        found = docker("logs", "--tail", str(tail), self.name, check=False)
        return found.stdout + found.stderr

    def kill(self, signal: str = "KILL") -> None:
        """Signal the container's main process, as a node or an OOM kill would."""
        say(f"pod {self.name}: kill -{signal}")
        docker("kill", "--signal", signal, self.name, check=False)

    def terminate(self) -> float:
        """Leave the endpoints, run preStop, SIGTERM, SIGKILL at the grace period; seconds it took."""
        started = time.monotonic()
        self.terminating = True
        self._set_phase("Terminating")
        self._set_ready(False, "terminating")
        c = self.spec.container
        if c.pre_stop_sleep:
            time.sleep(c.pre_stop_sleep)
        elif c.pre_stop_exec:
            docker("exec", self.name, *c.pre_stop_exec, check=False, timeout=self.spec.grace_seconds)
        self.memory_peak()
        remaining = max(1, round(self.spec.grace_seconds - (time.monotonic() - started)))
        docker("stop", "--time", str(remaining), self.name, check=False, timeout=remaining + 30)
        state = self.state()
        self.exit_codes.append(int(state.get("ExitCode", -1) or 0))
        self._stop.set()
        self._thread.join(10)
        took = time.monotonic() - started
        self._event(f"terminated in {took:.1f}s, exit code {self.exit_codes[-1]}")
        self.remove()
        return took

    def delete_now(self) -> None:
        """`kubectl delete pod --grace-period=0 --force`: SIGKILL, no preStop, nothing restarts it."""
        self.terminating = True
        self._stop.set()
        self._thread.join(5)
        self._set_ready(False, "deleted")
        self.kill("KILL")
        self.remove()

    def remove(self) -> None:
        self.memory_peak()
        if self.log_dir is not None:
            (self.log_dir / f"{self.name}.log").write_text(self.logs(100_000))
        self._stop.set()
        with contextlib.suppress(RuntimeError):
            self._thread.join(5)
        docker("rm", "-f", "-v", self.name, check=False)
