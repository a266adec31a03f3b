"""The benchmark measures Docket with every production feature on: this starts the API exactly as
``make bench`` does (bench/stack.py's settings, ``docket-api serve``) and checks that a read is
authenticated, rate limited, given the security headers, logged as JSON, counted and traced at the
sampling ratio the charts ship."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import yaml
from apikit import TEST_SECRET, register_and_login
from embedded_services import free_port
from servers import cli, service_process, stop_and_read

from docket_api.settings import ApiSettings
from docket_core.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench/ is a directory of the repository, not an installed package

from bench.stack import BENCH_SETTINGS  # noqa: E402

LIST = "/api/v1/documents?limit=50"
SAMPLED_PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def otlp_sink() -> Iterator[str]:
    """bench/otlp_sink.py, the bench's own trace sink; GET / answers how many exports it took."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.otlp_sink", str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(url, timeout=1)
                break
            assert time.monotonic() < deadline, "the OTLP sink never answered"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _bench_env(database_url: str, redis_url: str, sink: str, port: int) -> dict[str, str]:
    return {
        **BENCH_SETTINGS,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": TEST_SECRET,
        "CSRF_SECRET": TEST_SECRET,
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
        "PORT": str(port),
        "MANAGEMENT_PORT": str(free_port()),
    }


def test_the_bench_settings_are_the_production_defaults_the_charts_ship() -> None:
    values = yaml.safe_load((ROOT / "charts" / "api" / "values.yaml").read_text())["config"]
    settings = load_settings(
        ApiSettings, _bench_env("postgresql://bench/db", "redis://bench", "http://sink", 1)
    )
    assert settings.environment == "production"
    assert settings.rate_limit_enabled
    assert settings.log_level == "INFO"
    assert settings.otel_exporter_otlp_endpoint
    assert "TRACES_SAMPLE_RATIO" not in BENCH_SETTINGS, "the bench must not pick its own sampling"
    assert settings.traces_sample_ratio == float(values["TRACES_SAMPLE_RATIO"]) > 0


def test_a_bench_read_is_authenticated_limited_headed_logged_counted_and_traced(
    clean_db: str, clean_redis: str, otlp_sink: str
) -> None:
    port = free_port()
    env = _bench_env(clean_db, clean_redis, otlp_sink, port)
    with service_process([*cli("docket-api"), "serve"], env, port, "/readyz") as proc:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            token = register_and_login(client, "bench-features@example.com")["access_token"]
            assert client.get(LIST).status_code == 401, "authentication is on"
            bearer = {"Authorization": f"Bearer {token}"}
            read = client.get(LIST, headers=bearer)
            assert read.status_code == 200
            # the limiter counted it (its limit is one no run reaches, not off)
            assert read.headers["ratelimit-limit"] == BENCH_SETTINGS["RATE_LIMIT_USER"]
            assert int(read.headers["ratelimit-remaining"]) < int(BENCH_SETTINGS["RATE_LIMIT_USER"])
            for header in ("content-security-policy", "strict-transport-security", "x-content-type-options"):
                assert header in read.headers
            request_id = read.headers["x-request-id"]
            # tracing: a sampled caller's request is exported to the sink
            assert client.get(LIST, headers={**bearer, "traceparent": SAMPLED_PARENT}).status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{env['MANAGEMENT_PORT']}/metrics", timeout=10).text
        assert 'route="/api/v1/documents",status="200"' in metrics
        deadline = time.monotonic() + 30  # the batch exporter flushes every few seconds
        while int(httpx.get(otlp_sink, timeout=5).text) == 0:
            assert time.monotonic() < deadline, "no trace reached the sink"
            time.sleep(0.2)
        with redis.Redis.from_url(clean_redis) as client_redis:
            assert client_redis.keys("docket:rl:user:*"), "the limiter keeps its counters in Redis"
        output = stop_and_read(proc)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [
        line
        for line in lines
        if line.get("logger") == "docket.access" and line.get("request_id") == request_id
    ]
    assert len(access) == 1
    assert access[0]["path"] == "/api/v1/documents"
    assert access[0]["status"] == 200
