"""Probes and metrics live on MANAGEMENT_PORT only, and say nothing about why a check failed.

Real processes (`docket-api serve` with WORKERS=2, `docket-web serve`, `docket-worker run`) on the
session's PostgreSQL and a Redis of this module's own, which a test stops. The Ingress only ever
reaches the public ports: whatever they answer is what the Internet sees.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import psutil
import pytest
from apikit import TEST_SECRET
from embedded_services import EmbeddedRedis, free_port
from servers import cli, service_process

PROBES = ("/healthz", "/readyz", "/metrics")
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Running:
    """A service process, its public port and the port its probes answer on."""

    process: subprocess.Popen[bytes]
    port: int
    management_port: int

    @property
    def public(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def management(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"


@dataclass
class Services:
    api: Running
    web: Running
    worker: Running
    redis: EmbeddedRedis


@pytest.fixture(scope="module")
def services(make_database: Callable[[bool], str]) -> Iterator[Services]:
    database = make_database(True)
    redis = EmbeddedRedis().start()
    common = {
        "DATABASE_URL": database,
        "REDIS_URL": redis.url(),
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
    }
    api_port, api_management, web_port, web_management, worker_port = (free_port() for _ in range(5))
    api_env = {
        **common,
        "PORT": str(api_port),
        "MANAGEMENT_PORT": str(api_management),
        "WORKERS": "2",
        "JWT_SECRET": TEST_SECRET,
        "REDIS_SOCKET_TIMEOUT": "0.5",
        "SHUTDOWN_GRACE_SECONDS": "2",
    }
    web_env = {
        **common,
        "PORT": str(web_port),
        "MANAGEMENT_PORT": str(web_management),
        "API_URL": f"http://127.0.0.1:{api_port}",
        "REDIS_SOCKET_TIMEOUT": "0.5",
    }
    worker_env = {**common, "PORT": str(worker_port), "WORKER_POLL_INTERVAL_SECONDS": "0.5"}
    try:
        with (
            service_process([*cli("docket-api"), "serve"], api_env, api_port) as api,
            service_process([*cli("docket-web"), "serve"], web_env, web_port) as web,
            service_process([*cli("docket-worker"), "run"], worker_env, worker_port) as worker,
        ):
            yield Services(
                Running(api, api_port, api_management),
                Running(web, web_port, web_management),
                Running(worker, worker_port, worker_port),
                redis,
            )
    finally:
        redis.stop()


def test_the_public_ports_of_api_and_web_answer_404_for_probes_and_metrics(services: Services) -> None:
    for running in (services.api, services.web):
        for path in PROBES:
            public = httpx.get(running.public + path)
            assert public.status_code == 404, f"{path} on the public port of {running.process.args}"
            assert public.headers["content-type"].startswith(PROBLEM_JSON)
            assert "docket_http" not in public.text
        assert httpx.get(running.management + "/healthz").json() == {"status": "ok"}
        assert httpx.get(running.management + "/readyz").status_code == 200
        metrics = httpx.get(running.management + "/metrics")
        assert metrics.status_code == 200
        assert "docket_http_requests_total" in metrics.text
    # and the public ports still serve what they are for
    assert httpx.get(services.api.public + "/api/openapi.json").status_code == 200
    assert httpx.get(services.web.public + "/signin").status_code == 200


def test_the_management_port_serves_nothing_but_probes_and_metrics(services: Services) -> None:
    for running, paths in (
        (services.api, ["/api/v1/auth/me", "/api/openapi.json", "/"]),
        (services.web, ["/", "/signin", "/documents"]),
    ):
        for path in paths:
            response = httpx.get(running.management + path)
            assert response.status_code == 404, f"{path} on the management port"
            assert response.headers["content-type"].startswith(PROBLEM_JSON)
        signin = httpx.post(running.management + "/signin", data={"email": "a@example.com"})
        assert signin.status_code == 404


def test_the_worker_keeps_one_port_for_its_probes(services: Services) -> None:
    worker = services.worker
    assert httpx.get(worker.public + "/readyz").json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok"},
    }
    assert httpx.get(worker.public + "/metrics").status_code == 200


def test_with_workers_2_every_server_process_listens_on_both_ports(services: Services) -> None:
    api = services.api
    listening = {}
    for child in psutil.Process(api.process.pid).children():  # the server processes, and
        ports = {c.laddr.port for c in child.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}
        if ports:  # multiprocessing's resource tracker, which listens on nothing
            listening[child.pid] = ports
    assert len(listening) == 2, f"WORKERS=2 runs two server processes: {listening}"
    for pid, ports in listening.items():
        assert ports == {api.port, api.management_port}, f"process {pid} listens on {ports}"
    # fresh connections land on either process; both ports answer right from each
    for _ in range(20):
        headers = {"Connection": "close"}
        assert httpx.get(api.management + "/healthz", headers=headers).status_code == 200
        assert httpx.get(api.public + "/healthz", headers=headers).status_code == 404
        assert httpx.get(api.public + "/api/v1/auth/me", headers=headers).status_code == 401


def test_readyz_with_redis_down_says_failed_and_gives_no_reason(services: Services) -> None:
    services.redis.stop()
    try:
        expected = {
            services.api: {"database": "ok", "redis": "failed"},
            services.web: {"api": "ok", "redis": "failed"},
            services.worker: {"database": "ok", "redis": "failed"},
        }
        for running, checks in expected.items():
            response = httpx.get(running.management + "/readyz", timeout=10)
            assert response.status_code == 503
            assert response.json() == {"status": "not ready", "checks": checks}
            for leak in ("Error", "refused", "Connection", "111", "127.0.0.1", "redis://"):
                assert leak not in response.text, f"{leak!r} in {response.text}"
    finally:
        services.redis.start()  # same port
    # the reason is in the log instead
    output = _stop_and_read(services.web.process)
    assert "readiness check redis failed: ConnectionError" in output, output[-3000:]


def _stop_and_read(process: subprocess.Popen[bytes]) -> str:
    process.terminate()
    out, _ = process.communicate(timeout=30)
    return out.decode(errors="replace")
