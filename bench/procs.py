"""Child processes of a run: start them, wait until they answer, watch their memory and CPU, stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = 1024


@dataclass
class Proc:
    """A process this run started, in its own session so its children can be found and stopped."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None
    management_port: int | None = None  # where the api's and the web's probes answer

    @property
    def pid(self) -> int:
        return self.popen.pid

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def probe_url(self, path: str = "") -> str:
        """``path`` on the management port, or on the only port of a process that has none."""
        return f"http://127.0.0.1:{self.management_port or self.port}{path}"


def spawn(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    log_dir: Path,
    *,
    cwd: Path,
    port: int | None = None,
) -> Proc:
    """Start ``argv`` with its output in ``log_dir/<name>.log``."""
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Proc(name, popen, log, port)


def stop(proc: Proc, timeout: float = 20.0) -> None:
    """SIGTERM and wait (the services drain); SIGKILL its process group if it does not exit in time."""
    if proc.popen.poll() is None:
        proc.popen.send_signal(signal.SIGTERM)
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.popen.wait(5)


def log_tail(proc: Proc, lines: int = 20) -> str:
    try:
        return "\n".join(proc.log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_http(proc: Proc, path: str = "/readyz", timeout: float = 60.0) -> float:
    """Poll ``path`` (on the management port, if any) until it answers 200; returns the seconds it took.
    Raises if the process dies."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{log_tail(proc)}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(proc.probe_url(path), timeout=2) as response,  # noqa: S310 (http://127.0.0.1 only)
        ):
            if response.status == 200:
                return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"{proc.name} did not answer 200 on {path} within {timeout:g}s:\n{log_tail(proc)}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def _parent_map() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _read(f"/proc/{entry}/stat")
            if stat:
                parents[int(entry)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    return parents


def tree(root: int, parents: Mapping[int, int] | None = None) -> list[int]:
    """``root`` and all of its descendants that are alive now."""
    parents = _parent_map() if parents is None else parents
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in parents or pid == root:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def status_kb(pid: int, key: str) -> int:
    """A ``VmRSS``/``VmHWM`` style field of /proc/<pid>/status, in kB (0 if the process is gone)."""
    text = _read(f"/proc/{pid}/status") or ""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def cpu_ticks(pid: int) -> int:
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return 0
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


@dataclass
class Usage:
    """What one group of processes used while a :class:`Monitor` watched it."""

    peak_rss_mb: float = 0.0
    last_rss_mb: float = 0.0
    hwm_mb: float = 0.0
    cpu_seconds: float = 0.0
    processes: int = 0
    _first: dict[int, int] = field(default_factory=dict, repr=False)
    _last: dict[int, int] = field(default_factory=dict, repr=False)


class Monitor:
    """Samples RSS and CPU time of process trees (by group name) in a thread, every ``interval`` seconds.

    CPU is counted per process from the first to the last sample that saw it, so processes that start
    during the run (pgbench's backends) count from zero and those that exit lose at most one interval.
    """

    RESCAN_SECONDS = (
        0.5  # listing /proc costs ~2 ms; the trees are re-read this often, the figures every interval
    )

    def __init__(self, roots: Mapping[str, int], interval: float = 0.1) -> None:
        self.roots = dict(roots)
        self.interval = interval
        self._trees: dict[str, list[int]] = {}
        self._scanned = 0.0
        self.usage = {name: Usage() for name in self.roots}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started_pids: set[int] = set()
        self.seconds = 0.0

    def __enter__(self) -> Monitor:
        parents = _parent_map()
        self._started_pids = set(parents)
        self._t0 = time.monotonic()
        self._sample(parents)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(_parent_map())
        self.seconds = time.monotonic() - self._t0
        for usage in self.usage.values():
            usage.cpu_seconds = (
                sum(usage._last[pid] - usage._first.get(pid, 0) for pid in usage._last) / CLOCK_TICKS
            )

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            rescan = time.monotonic() - self._scanned >= self.RESCAN_SECONDS
            self._sample(_parent_map() if rescan else None)

    def _sample(self, parents: Mapping[int, int] | None) -> None:
        if parents is not None:
            self._trees = {name: tree(root, parents) for name, root in self.roots.items()}
            self._scanned = time.monotonic()
        for name in self.roots:
            usage = self.usage[name]
            pids = self._trees[name]
            rss = sum(status_kb(pid, "VmRSS") for pid in pids) / 1024
            usage.last_rss_mb = rss
            usage.peak_rss_mb = max(usage.peak_rss_mb, rss)
            usage.hwm_mb = max(usage.hwm_mb, sum(status_kb(pid, "VmHWM") for pid in pids) / 1024)
            usage.processes = max(usage.processes, len(pids))
            for pid in pids:
                ticks = cpu_ticks(pid)
                if pid not in usage._first:
                    usage._first[pid] = ticks if pid in self._started_pids else 0
                usage._last[pid] = max(ticks, usage._last.get(pid, 0))


def rss_mb(root: int) -> float:
    """RSS of ``root`` and its descendants now, in MB."""
    return sum(status_kb(pid, "VmRSS") for pid in tree(root)) / 1024


def hwm_mb(root: int) -> float:
    """Sum of the peak RSS (VmHWM) of ``root`` and its live descendants, in MB."""
    return sum(status_kb(pid, "VmHWM") for pid in tree(root)) / 1024
