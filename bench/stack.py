"""The system under test: embedded PostgreSQL and Redis, an OTLP sink, and Docket's real services."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs
from bench.procs import Proc, free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from embedded_services import EmbeddedPostgres, EmbeddedRedis  # noqa: E402

BIN = Path(sys.executable).parent
# PostgreSQL as `make dev` runs it, but with fsync on (the embedded default is off) unless asked otherwise.
PG_OPTIONS = "-c max_connections=300 -c shared_buffers=256MB"
# Settings shared by every Docket service in the run. The rate limiter stays on with limits that a
# benchmark cannot reach, and tracing exports to the local sink: both cost what they cost in production.
BENCH_SETTINGS = {
    "ENVIRONMENT": "production",
    "LOG_LEVEL": "INFO",
    "HOST": "127.0.0.1",
    "SHUTDOWN_GRACE_SECONDS": "5",
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_USER": "1000000000",
    "RATE_LIMIT_ANONYMOUS": "1000000000",
    "ACCESS_TOKEN_TTL_SECONDS": "14400",
    # the benches measure throughput, not the per-account limits: 64 uploads of one account at once
    "QUOTA_UPLOADS_IN_FLIGHT": "64",
    "UPLOAD_SPOOL_MAX_BYTES": str(2 * 1024**3),
    "QUOTA_STORED_BYTES": str(10**15),
    "QUOTA_DOCUMENTS": str(10**9),
}
# Only these survive from the caller's environment, so a stray DATABASE_URL or WORKERS cannot leak in.
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TERM", "SSL_CERT_FILE", "UV_SYSTEM_CERTS")


@dataclass
class Stack:
    """Everything a section needs to start services; owns every process it starts."""

    workdir: Path
    pg_fsync: bool = True
    pg: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    sink: Proc | None = None
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    csrf_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    running: list[Proc] = field(default_factory=list)

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Stack:
        """Start PostgreSQL, Redis and the OTLP sink, and migrate the schema."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pg = EmbeddedPostgres(data_dir=Path(tempfile.mkdtemp(prefix="docket-bench-pg-"))).start()
        fsync = "on" if self.pg_fsync else "off"
        options = f"-h 127.0.0.1 -p {self.pg.port} -k {self.pg.data_dir} -c fsync={fsync} {PG_OPTIONS}"
        subprocess.run(
            [*_as_postgres_user(), str(self.pg.bin / "pg_ctl"), "-D", str(self.pg.data_dir), "-o", options,
             "-l", str(self.pg.data_dir / "server.log"), "-w", "-t", "60", "restart"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.redis = EmbeddedRedis().start()
        port = free_port()
        self.sink = procs.spawn(
            "otlp-sink", [sys.executable, "-m", "bench.otlp_sink", str(port)], self._plain_env(),
            self.workdir, cwd=ROOT, port=port,
        )  # fmt: skip
        procs.wait_http(self.sink, "/healthz", timeout=20)
        subprocess.run(
            [str(BIN / "docket-api"), "migrate"], env=self.env(), check=True, stdout=subprocess.DEVNULL
        )
        return self

    def close(self) -> None:
        for proc in reversed(self.running):
            procs.stop(proc)
        self.running.clear()
        if self.sink:
            procs.stop(self.sink)
        if self.redis:
            self.redis.stop()
            shutil.rmtree(self.redis.dir, ignore_errors=True)
        if self.pg:
            self.pg.destroy()

    # ---- facts ----------------------------------------------------------------------------------

    @property
    def database_url(self) -> str:
        assert self.pg is not None
        return self.pg.url()

    @property
    def postmaster_pid(self) -> int:
        assert self.pg is not None
        return int((self.pg.data_dir / "postmaster.pid").read_text().split()[0])

    @property
    def redis_pid(self) -> int:
        assert self.redis is not None
        assert self.redis.process is not None
        return self.redis.process.pid

    def _plain_env(self) -> dict[str, str]:
        import os

        env = {key: os.environ[key] for key in PASSTHROUGH if key in os.environ}
        env["PATH"] = f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}"
        return env

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a Docket service: production settings pointed at this run's servers."""
        assert self.redis is not None
        assert self.sink is not None
        return {
            **self._plain_env(),
            **BENCH_SETTINGS,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url(),
            "JWT_SECRET": self.jwt_secret,
            "CSRF_SECRET": self.csrf_secret,
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.sink.url(),
            **(extra or {}),
        }

    # ---- services -------------------------------------------------------------------------------

    def _start(self, name: str, argv: list[str], env: dict[str, str], port: int, ready: str) -> Proc:
        proc = procs.spawn(name, argv, env, self.workdir, cwd=ROOT, port=port)
        if "MANAGEMENT_PORT" in env:
            proc.management_port = int(env["MANAGEMENT_PORT"])
        self.running.append(proc)
        procs.wait_http(proc, ready)
        return proc

    def start_api(
        self,
        workers: int = 1,
        server: str = "uvicorn",
        name: str = "api",
        extra: Mapping[str, str] | None = None,
    ) -> Proc:
        """Docket's API as it runs in production (`docket-api serve`), or the same factory under granian."""
        port = free_port()
        env = self.env(
            {"PORT": str(port), "MANAGEMENT_PORT": str(free_port()), "WORKERS": str(workers), **(extra or {})}
        )
        ready = "/readyz"
        if server == "uvicorn":
            argv = [str(BIN / "docket-api"), "serve"]
        elif server == "granian":
            from bench.tools import granian_path

            env["PYTHONPATH"] = str(granian_path())
            argv = [
                sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "1",
                "--no-ws", "--log-level", "warning", "docket_api.app:create_app",
            ]  # fmt: skip
            # granian listens on PORT alone, so the probes (MANAGEMENT_PORT) are out of reach: wait for
            # a public page instead
            env.pop("MANAGEMENT_PORT")
            ready = "/api/openapi.json"
        else:
            raise ValueError(f"unknown server {server!r}")
        return self._start(name, argv, env, port, ready)

    def start_reference(self, workers: int = 1) -> Proc:
        """The bare reference app (bench/reference) under uvicorn with Docket's server settings."""
        port = free_port()
        env = self.env({"PORT": str(port), "WORKERS": str(workers)})
        return self._start(
            "reference", [sys.executable, "-m", "bench.reference.serve"], env, port, "/healthz"
        )

    def start_worker(self, name: str = "worker", extra: Mapping[str, str] | None = None) -> Proc:
        port = free_port()
        env = self.env({"PORT": str(port), **(extra or {})})
        return self._start(name, [str(BIN / "docket-worker"), "run"], env, port, "/readyz")

    def start_web(self, api: Proc) -> Proc:
        port = free_port()
        env = self.env({"PORT": str(port), "MANAGEMENT_PORT": str(free_port()), "API_URL": api.url()})
        return self._start("web", [str(BIN / "docket-web"), "serve"], env, port, "/healthz")

    def stop(self, proc: Proc) -> None:
        procs.stop(proc)
        if proc in self.running:
            self.running.remove(proc)


def _as_postgres_user() -> list[str]:
    import os

    return ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
