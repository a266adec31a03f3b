"""Every service's console script starts as a real process and answers /healthz."""

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
    port = free_port()
    env = {
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "API_URL": "http://127.0.0.1:9",
    }
    with service_process([*cli(script), command], env, port):
        response = httpx.get(f"http://127.0.0.1:{port}/healthz")
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
