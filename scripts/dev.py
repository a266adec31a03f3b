"""`make dev`: embedded PostgreSQL and Redis, migrations, then the api, worker and web on loopback.

Ctrl-C, SIGTERM or SIGHUP, at any moment, stops everything this script started: the three services
get SIGTERM and SHUTDOWN_GRACE_SECONDS (5) to drain, whatever is left of them is then killed, and
Redis and PostgreSQL stop last. A second Ctrl-C skips the grace period.
Data persists between runs in .dev/ (or under /var/tmp when run as root, which PostgreSQL refuses).

Environment (all optional):
  DEV_DATA_DIR      where the data lives (default: .dev/, or /var/tmp/docket-dev-<hash> as root)
  DEV_PG_PORT       PostgreSQL (default 55432)
  DEV_REDIS_PORT    Redis (default 56379)
  DEV_API_PORT      api (default 8000)
  DEV_API_MANAGEMENT_PORT  api's probes and metrics (default 8001)
  DEV_WORKER_PORT   worker's probes and metrics (default 9000)
  DEV_WEB_PORT      web (default 8080)
  DEV_WEB_MANAGEMENT_PORT  web's probes and metrics (default 8081)

A port already in use stops start-up with one line naming the process that holds it. One run per data
directory (it holds DEV_DATA_DIR/dev.lock). A run killed outright (SIGKILL, OOM) leaves processes
behind. The next run finds them and stops them before it starts: the services and their children
carry DOCKET_DEV_RUN=<data dir> in their environment, and PostgreSQL and Redis (which write their
process titles over their environment) work in DEV_DATA_DIR/pgdata and DEV_DATA_DIR/redis.
A PostgreSQL left running on the data directory is stopped (fast shutdown: committed data is kept)
and started again, not adopted: it may have been started with other ports or options, its backends
may still hold the killed services' sessions and locks, and a restart costs well under a second.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psutil
from embedded_services import EmbeddedPostgres, EmbeddedRedis, EmbeddedServiceError
from processes import (
    kill_processes,
    port_accepts,
    port_holder,
    port_is_free,
    processes_marked,
    processes_working_in,
    stop_processes,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUN_MARKER = "DOCKET_DEV_RUN"
GRACE_SECONDS = 5  # SHUTDOWN_GRACE_SECONDS for the services; they are killed one second after it
START_TIMEOUT = 120.0  # a first start on a busy two-core machine can take well over 30 s


@dataclass(frozen=True)
class Service:
    name: str
    argv: tuple[str, ...]
    port_variable: str
    default_port: int
    # the api and the web serve their probes and metrics on a port of their own (MANAGEMENT_PORT)
    management_variable: str | None = None
    default_management_port: int = 0


SERVICES = (
    Service("api", ("docket-api", "serve"), "DEV_API_PORT", 8000, "DEV_API_MANAGEMENT_PORT", 8001),
    Service("worker", ("docket-worker", "run"), "DEV_WORKER_PORT", 9000),
    Service("web", ("docket-web", "serve"), "DEV_WEB_PORT", 8080, "DEV_WEB_MANAGEMENT_PORT", 8081),
)


class DevError(Exception):
    """Start-up cannot go on; the message is the one line to print."""


class StopRequestedError(Exception):
    """A stop was asked for during start-up."""


def data_root() -> Path:
    if os.geteuid() == 0:
        return Path("/var/tmp") / f"docket-dev-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]}"
    return ROOT / ".dev"


@dataclass(frozen=True)
class DevConfig:
    data_dir: Path
    ports: dict[str, int]  # variable name -> port

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DevConfig:
        defaults = {"DEV_PG_PORT": 55432, "DEV_REDIS_PORT": 56379}
        defaults.update({service.port_variable: service.default_port for service in SERVICES})
        defaults.update(
            {s.management_variable: s.default_management_port for s in SERVICES if s.management_variable}
        )
        ports = {variable: _port(env, variable, default) for variable, default in defaults.items()}
        if len(set(ports.values())) < len(ports):
            raise DevError(f"two of {', '.join(ports)} name the same port: {ports}")
        data_dir = Path(env["DEV_DATA_DIR"]).absolute() if env.get("DEV_DATA_DIR") else data_root()
        return cls(data_dir=data_dir, ports=ports)

    def port(self, service: Service) -> int:
        return self.ports[service.port_variable]


def _port(env: Mapping[str, str], variable: str, default: int) -> int:
    text = env.get(variable) or str(default)
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise DevError(f"{variable} must be a port number from 1 to 65535, not {text!r}")
    return int(text)


class StopRequests:
    """SIGINT, SIGTERM and SIGHUP ask for a stop; a second one asks to skip the grace period."""

    def __init__(self) -> None:
        self.count = 0
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._handle)
        # children run in background process groups; with `stty tostop` a terminal would stop them
        # (SIGTTOU) when they log. An ignored signal stays ignored across exec, so they may write.
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1  # only a flag: the main loop acts on it between steps

    @property
    def requested(self) -> bool:
        return self.count > 0

    @property
    def forced(self) -> bool:
        return self.count > 1

    def check(self) -> None:
        if self.requested:
            raise StopRequestedError


def say(text: str, *, error: bool = False) -> None:
    """Print, even when the terminal is gone (after SIGHUP), since the shutdown must go on."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr if error else sys.stdout, flush=True)


@contextlib.contextmanager
def exclusive_lock(data_dir: Path) -> Iterator[None]:
    """Hold DEV_DATA_DIR/dev.lock for the run; the kernel lets go of it however the run ends."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "dev.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise DevError(
                f"another `make dev` (pid {holder}) is running on {data_dir}; stop it, or set DEV_DATA_DIR"
            ) from None
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield


class DevRun:
    """One `make dev`: start everything in order, watch it, and stop all of it whatever happened."""

    def __init__(self, config: DevConfig, stops: StopRequests) -> None:
        self.config = config
        self.stops = stops
        self.marker = str(config.data_dir.resolve())
        self.pg = EmbeddedPostgres(data_dir=config.data_dir / "pgdata", port=config.ports["DEV_PG_PORT"])
        self.redis = EmbeddedRedis(port=config.ports["DEV_REDIS_PORT"], directory=config.data_dir / "redis")
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def run(self) -> int:
        self.stop_leftovers()
        self.check_ports()
        os.environ[RUN_MARKER] = self.marker  # inherited by everything started from here on
        status = 0
        try:
            self.start()
            self.print_banner()
            status = self.supervise()
        except StopRequestedError:
            pass
        except (DevError, EmbeddedServiceError) as exc:
            if not self.stops.requested:  # failures the stop itself causes are not news
                say(f"dev: {exc}", error=True)
                status = 1
        finally:
            say("Stopping Docket...")
            self.stop()
            say("Docket stopped.")
        return status

    def stop_leftovers(self) -> None:
        """Stop what an earlier run on this data directory left running when it was killed."""
        postgres = self.pg.processes()
        left = [process for process in self.leftovers() if process not in postgres]
        if left:
            say(f"dev: stopping {len(left)} process(es) an earlier, killed run left: {_pids(left)}")
            stop_processes(left, grace=GRACE_SECONDS + 1)
        if postgres:
            postmaster = self.pg.postmaster()
            which = f"pid {postmaster.pid}" if postmaster else f"pids {_pids(postgres)}"
            say(f"dev: stopping the PostgreSQL an earlier run left ({which}); it starts again")
            self.pg.stop(timeout=10)

    def check_ports(self) -> None:
        for variable, port in self.config.ports.items():
            if not port_is_free(port):
                raise DevError(
                    f"port {port} ({variable}) is already in use by {port_holder(port)}; "
                    f"stop it or set {variable} to a free port"
                )

    def start(self) -> None:
        self.stops.check()
        self.pg.start()
        self.stops.check()
        self.redis.start()
        self.stops.check()
        env = self.service_env()
        self.spawn("migrate", ("docket-api", "migrate"), env)
        if (status := self.wait_for_exit("migrate")) != 0:
            raise DevError(f"migrations failed (docket-api migrate exited with status {status})")
        for service in SERVICES:
            port = self.config.port(service)
            ports = {"PORT": str(port)}
            if service.management_variable:
                ports["MANAGEMENT_PORT"] = str(self.config.ports[service.management_variable])
            self.spawn(service.name, service.argv, {**env, **ports})
            self.wait_until_listening(service.name, port)

    def service_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ENVIRONMENT": "local",
            "DATABASE_URL": self.pg.url(),
            "REDIS_URL": self.redis.url(),
            "API_URL": f"http://127.0.0.1:{self.config.ports['DEV_API_PORT']}",
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
        }

    def spawn(self, name: str, argv: tuple[str, ...], env: dict[str, str]) -> None:
        # its own process group: a terminal's Ctrl-C reaches only this script, which stops it in order
        try:
            self.children[name] = subprocess.Popen(
                [str(BIN / argv[0]), *argv[1:]], env=env, stdin=subprocess.DEVNULL, process_group=0
            )
        except OSError as exc:
            raise DevError(f"cannot run {argv[0]} ({exc.strerror}); run `make install`") from None

    def wait_for_exit(self, name: str) -> int:
        child = self.children[name]
        while (status := child.poll()) is None:
            self.stops.check()
            time.sleep(0.05)
        return status

    def wait_until_listening(self, name: str, port: int) -> None:
        child = self.children[name]
        deadline = time.monotonic() + START_TIMEOUT
        while not port_accepts(port):
            self.stops.check()
            if (status := child.poll()) is not None:
                raise DevError(f"{name} exited with status {status} during start-up (its log is above)")
            if time.monotonic() > deadline:
                raise DevError(f"{name} did not listen on port {port} within {START_TIMEOUT:.0f} s")
            time.sleep(0.1)

    def print_banner(self) -> None:
        ports = self.config.ports
        say(
            "\nDocket is running:\n"
            f"  web      http://127.0.0.1:{ports['DEV_WEB_PORT']}/  "
            f"(probes: http://127.0.0.1:{ports['DEV_WEB_MANAGEMENT_PORT']}/readyz)\n"
            f"  api      http://127.0.0.1:{ports['DEV_API_PORT']}/api/v1  "
            f"(docs: http://127.0.0.1:{ports['DEV_API_PORT']}/api/docs; "
            f"probes: http://127.0.0.1:{ports['DEV_API_MANAGEMENT_PORT']}/readyz)\n"
            f"  worker   http://127.0.0.1:{ports['DEV_WORKER_PORT']}/readyz\n"
            "  (each service's /metrics is beside its /readyz)\n"
            f"  postgres {self.pg.url('postgres')}\n"
            f"  redis    {self.redis.url()}\n"
            f"{ocr_line()}"
            "Press Ctrl-C to stop.\n"
        )

    def supervise(self) -> int:
        """Wait for a stop request; a service that exits on its own stops the run with status 1."""
        while not self.stops.requested:
            for service in SERVICES:
                if (status := self.children[service.name].poll()) is not None:
                    say(f"dev: {service.name} exited with status {status}; stopping Docket", error=True)
                    return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        """Services first (SIGTERM, then SIGKILL after the grace), then Redis and PostgreSQL."""
        trees = self.child_trees()  # before the services exit: their children are re-parented then
        running = [child for child in self.children.values() if child.poll() is None]
        for child in running:
            child.terminate()
        deadline = time.monotonic() + GRACE_SECONDS + 1
        while any(child.poll() is None for child in running):
            if time.monotonic() > deadline or self.stops.forced:
                break
            time.sleep(0.05)
        kill_processes([*trees, *self.child_trees()])
        for child in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(5)
        self.redis.stop(timeout=2)
        self.pg.stop(timeout=1 if self.stops.forced else 3)
        if left := self.leftovers():
            say(f"dev: killing {len(left)} process(es) left after the stop: {_pids(left)}", error=True)
            kill_processes(left)

    def leftovers(self) -> list[psutil.Process]:
        """Processes of this data directory's runs: the marked ones, Redis and PostgreSQL."""
        found = {p.pid: p for p in processes_marked(RUN_MARKER, self.marker)}
        found.update((p.pid, p) for p in processes_working_in(Path(self.redis.dir), "redis-server"))
        found.update((p.pid, p) for p in self.pg.processes())
        return list(found.values())

    def child_trees(self) -> list[psutil.Process]:
        """The services and migrations still running, with all their descendants."""
        found: list[psutil.Process] = []
        for child in self.children.values():
            if child.poll() is not None:
                continue  # reaped: its pid may belong to someone else by now
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(child.pid)
                found += [process, *process.children(recursive=True)]
        return found


def _pids(processes: list[psutil.Process]) -> str:
    return ", ".join(str(process.pid) for process in processes)


def ocr_line() -> str:
    """The banner's line on OCR: on when Tesseract is installed, else how to install it."""
    if ctypes.util.find_library("tesseract"):
        return "  ocr      on (Tesseract found)\n"
    return "  ocr      off: to read scans, install Tesseract (Debian: sudo apt-get install tesseract-ocr)\n"


def main() -> int:
    stops = StopRequests()
    try:
        config = DevConfig.from_env(os.environ)
        with exclusive_lock(config.data_dir):
            return DevRun(config, stops).run()
    except (DevError, EmbeddedServiceError) as exc:
        say(f"dev: {exc}", error=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
