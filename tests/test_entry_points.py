"""Every service's console script starts as a real process and answers /healthz (on MANAGEMENT_PORT for
the api and the web, on its only port for the worker)."""

from __future__ import annotations

import httpx
import pytest
from embedded_services import free_port
from servers import cli, service_process


@pytest.mark.parametrize(
    ("script", "command"), [("docket-api", "serve"), ("docket-worker", "run"), ("docket-web", "serve")]
)
def test_service_starts_and_answers_healthz(
    script: str, command: str, database_url: str, redis_url: str
) -> None:
    port, management_port = free_port(), free_port()
    env = {
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "API_URL": "http://127.0.0.1:9",
    }
    if script != "docket-worker":
        env["MANAGEMENT_PORT"] = str(management_port)
    with service_process([*cli(script), command], env, port):
        response = httpx.get(f"http://127.0.0.1:{env.get('MANAGEMENT_PORT', port)}/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["x-content-type-options"] == "nosniff"


def test_production_without_a_secret_refuses_to_start_and_names_it() -> None:
    import subprocess

    result = subprocess.run(
        [*cli("docket-api"), "serve"],
        env={"ENVIRONMENT": "production", "DATABASE_URL": "postgresql://x/y", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "JWT_SECRET" in result.stderr


def test_two_server_processes_share_one_metrics_view_and_stop_cleanly(
    database_url: str, redis_url: str
) -> None:
    import signal

    port, management_port = free_port(), free_port()
    env = {
        "PORT": str(port),
        "MANAGEMENT_PORT": str(management_port),
        "WORKERS": "2",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SHUTDOWN_GRACE_SECONDS": "2",
    }
    with service_process([*cli("docket-api"), "serve"], env, port, ready_path="/readyz") as process:
        base = f"http://127.0.0.1:{port}"
        # fresh connections spread over both processes; each counts its own requests
        for _ in range(40):
            httpx.get(f"{base}/api/v1/auth/me", headers={"Connection": "close"})
        text = httpx.get(f"http://127.0.0.1:{management_port}/metrics").text
        line = next(
            row
            for row in text.splitlines()
            if row.startswith("docket_http_requests_total{") and 'route="/api/v1/auth/me"' in row
        )
        assert float(line.rsplit(" ", 1)[1]) == 40, "multiprocess mode adds up every process's counts"
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
