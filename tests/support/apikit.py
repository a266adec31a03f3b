"""Helpers for talking to a real Docket API in tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
from embedded_services import free_port
from servers import ThreadedServer, cli, service_process

from docket_api.app import create_app
from docket_api.settings import ApiSettings

TEST_SECRET = "test-secret-that-is-long-enough-0123456789"
PASSWORD = "correct horse battery"


def api_settings(database_url: str, redis_url: str, **overrides: Any) -> ApiSettings:
    """Test settings: high rate limits and a small pool unless overridden; probes on a free port."""
    base: dict[str, Any] = {
        "management_port": free_port(),
        "environment": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "jwt_secret": TEST_SECRET,
        "rate_limit_anonymous": 10_000,
        "rate_limit_user": 10_000,
        "db_pool_min_size": 1,
        "db_pool_max_size": 4,
        "log_level": "WARNING",
    }
    base.update(overrides)
    return msgspec.convert(base, ApiSettings)


def register_and_login(client: httpx.Client, email: str = "ada@example.com") -> dict[str, Any]:
    """Create an account and return its token pair."""
    created = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    tokens = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    return tokens.json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def run_migrate(*args: str, database_url: str | None) -> subprocess.CompletedProcess[str]:
    """``docket-api migrate ARGS`` as a process, its output captured; no DATABASE_URL or ENVIRONMENT but
    ``database_url`` (none when it is None) reaches it from the tests' own environment."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ENVIRONMENT"}}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [*cli("docket-api"), "migrate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextlib.contextmanager
def signed_in_api(
    settings: ApiSettings, email: str = "ada@example.com", timeout: float = 30
) -> Iterator[httpx.Client]:
    """The API in a thread, and a client of it signed in as a new account (its bearer token set)."""
    with (
        ThreadedServer(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=timeout) as client,
    ):
        client.headers.update(bearer(register_and_login(client, email)["access_token"]))
        yield client


@contextlib.contextmanager
def api_process(database_url: str, redis_url: str, **env: str) -> Iterator[ApiProcess]:
    """A real ``docket-api serve`` process on a free port, test settings plus ``env``; killed at the end."""
    port = free_port()
    settings = {
        "ENVIRONMENT": "test",
        "PORT": str(port),
        "MANAGEMENT_PORT": str(free_port()),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": TEST_SECRET,
        "RATE_LIMIT_ANONYMOUS": "100000",
        "RATE_LIMIT_USER": "100000",
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "4",
        "LOG_LEVEL": "ERROR",  # the pipe is read only at the end: keep what a busy test logs small
        **env,
    }
    with service_process([*cli("docket-api"), "serve"], settings, port) as proc:
        yield ApiProcess(proc, f"http://127.0.0.1:{port}", int(settings["MANAGEMENT_PORT"]))


class ApiProcess:
    """A running API process: its pid, its public URL, and its metrics."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, management_port: int) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.url = url
        self.management_port = management_port

    def metric(self, sample: str) -> float:
        """The value of one sample (``name`` or ``name{labels}``) from /metrics; 0 when absent."""
        text = self._metrics_text()
        for line in text.splitlines():
            name, _, value = line.rpartition(" ")
            if name == sample:
                return float(value)
        return 0.0

    def _metrics_text(self) -> str:
        # /metrics moves to MANAGEMENT_PORT where the server has one; until then it is on PORT
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(f"http://127.0.0.1:{self.management_port}/metrics", timeout=5)
            if response.status_code == 200:
                return response.text
        response = httpx.get(f"{self.url}/metrics", timeout=5)
        response.raise_for_status()
        return response.text

    def peak_rss_bytes(self) -> int:
        """VmHWM: the most resident memory the process has held since it started."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM in /proc/<pid>/status")
