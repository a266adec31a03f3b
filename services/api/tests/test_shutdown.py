"""Graceful shutdown of a real `docket-api serve` process on SIGTERM and SIGINT.

What uvicorn makes observable, and so what these tests check: the signal handler flips readiness
before uvicorn's own handler runs, so a probe that reaches the app after the signal gets 503. Within
0.1 s (uvicorn's main-loop tick) uvicorn then closes the listening socket and every *idle*
keep-alive connection, so from then on probes are refused rather than answered 503; that is also
"not ready" to a load balancer. Requests already in flight keep their connection and may finish
within ``SHUTDOWN_GRACE_SECONDS``; then the lifespan closes the pool and Redis and the process exits 0.
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from apikit import PASSWORD, TEST_SECRET, api_settings
from embedded_services import free_port
from servers import ThreadedServer, cli, service_process

from docket_api.app import create_app
from docket_core.http.plugin import litestar_of

GRACE_SECONDS = 3
SLOW_BODY_SECONDS = 1.5
DRAINING_LOG = "shutdown signal received; draining in-flight work"


def api_env(port: int, database_url: str, redis_url: str, management_port: int) -> dict[str, str]:
    return {
        "PORT": str(port),
        "MANAGEMENT_PORT": str(management_port),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": TEST_SECRET,
        "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
        "LOG_LEVEL": "INFO",
        "ENVIRONMENT": "test",
    }


class SlowRegistration(threading.Thread):
    """POST /api/v1/auth/register whose JSON body arrives in two parts; the second waits for ``release``."""

    def __init__(self, base_url: str, delay_after_release: float) -> None:
        super().__init__(daemon=True)
        self.url = f"{base_url}/api/v1/auth/register"
        self.email = f"slow-{uuid.uuid4().hex[:8]}@example.com"
        self.delay = delay_after_release
        self.first_part_sent = threading.Event()
        self.release = threading.Event()
        self.response: httpx.Response | None = None
        self.error: Exception | None = None

    def body(self) -> Iterator[bytes]:
        yield json.dumps({"email": self.email})[:-1].encode() + b", "
        self.first_part_sent.set()  # runs once httpx has written the headers and the first part
        self.release.wait(60)
        time.sleep(self.delay)
        yield json.dumps({"password": PASSWORD})[1:].encode()

    def run(self) -> None:
        try:
            with httpx.Client(timeout=60) as client:
                self.response = client.post(
                    self.url, content=self.body(), headers={"Content-Type": "application/json"}
                )
        except Exception as exc:  # asserted by the test
            self.error = exc


class KeepAliveProbe:
    """One HTTP/1.1 connection that is never silently replaced by a new one."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        self.conn.auto_open = 0  # a closed connection must raise, not reconnect
        self.conn.connect()

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def close(self) -> None:
        self.conn.close()


def log_messages(output: bytes) -> list[str]:
    messages = []
    for line in output.decode(errors="replace").splitlines():
        try:
            messages.append(str(json.loads(line)["msg"]))
        except (ValueError, KeyError, TypeError):
            messages.append(line)
    return messages


def refuses_connections(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.ConnectError:
        return True
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_drains_in_flight_requests_refuses_new_ones_and_exits_0(
    sig: signal.Signals, clean_db: str, clean_redis: str
) -> None:
    port, management_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = api_env(port, clean_db, clean_redis, management_port)
    with service_process([*cli("docket-api"), "serve"], env, port) as proc:
        probe = KeepAliveProbe(management_port)
        assert probe.get("/readyz") == (200, {"status": "ready", "checks": {"database": "ok", "redis": "ok"}})

        slow = SlowRegistration(base_url, delay_after_release=SLOW_BODY_SECONDS)
        slow.start()
        assert slow.first_part_sent.wait(10)
        time.sleep(0.2)  # the server has the headers: the request is in flight, waiting for its body

        proc.send_signal(sig)
        signalled_at = time.monotonic()
        try:
            during: tuple[int, dict[str, Any]] | None = probe.get("/readyz")
        except (http.client.HTTPException, OSError):
            during = None  # uvicorn's 0.1 s tick closed the idle connection first; never a 200
        finally:
            probe.close()
        slow.release.set()

        if during is not None:
            assert during == (503, {"status": "shutting down", "checks": {}})
        time.sleep(0.3)
        assert proc.poll() is None, "exited while a request was still in flight"
        assert refuses_connections(port)
        assert refuses_connections(management_port)

        slow.join(GRACE_SECONDS + 10)
        assert slow.error is None, repr(slow.error)
        assert slow.response is not None
        assert slow.response.status_code == 201, slow.response.text
        assert slow.response.json()["email"] == slow.email
        assert time.monotonic() - signalled_at >= SLOW_BODY_SECONDS

        returncode = proc.wait(GRACE_SECONDS + 10)
        stopped_after = time.monotonic() - signalled_at
        output = proc.stdout.read() if proc.stdout else b""

    assert returncode == 0, output.decode(errors="replace")[-3000:]
    assert stopped_after < GRACE_SECONDS + 2
    assert refuses_connections(port)
    messages = log_messages(output)
    assert "Traceback (most recent call last):" not in messages
    # readiness flipped in the signal handler, before uvicorn started closing connections
    assert messages.index(DRAINING_LOG) < messages.index("Shutting down")
    # the in-flight request finished before the pool and Redis were closed
    assert messages.index("POST /api/v1/auth/register 201") < messages.index("api stopped")


def test_a_request_that_outlasts_the_grace_period_is_cut_off_and_the_process_still_exits(
    clean_db: str, clean_redis: str
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = api_env(port, clean_db, clean_redis, free_port())
    with service_process([*cli("docket-api"), "serve"], env, port) as proc:
        stuck = SlowRegistration(base_url, delay_after_release=0)
        stuck.start()
        assert stuck.first_part_sent.wait(10)
        time.sleep(0.2)

        proc.send_signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        try:
            returncode = proc.wait(GRACE_SECONDS + 10)
        except subprocess.TimeoutExpired:
            pytest.fail("the process did not stop after the grace period")
        stopped_after = time.monotonic() - signalled_at
        output = proc.stdout.read() if proc.stdout else b""
    stuck.release.set()
    stuck.join(10)

    assert returncode == 0, output.decode(errors="replace")[-3000:]
    assert GRACE_SECONDS <= stopped_after < GRACE_SECONDS + 2
    # cut off: no answer, or uvicorn's 500 for the cancelled request; and nothing was registered
    assert stuck.response is None or stuck.response.status_code == 500
    with psycopg.connect(clean_db) as conn:
        row = conn.execute("SELECT count(*) FROM users WHERE email = %s", (stuck.email,)).fetchone()
    assert row == (0,)
    messages = log_messages(output)
    assert any("timeout graceful shutdown exceeded" in message for message in messages)
    assert "api stopped" in messages


def test_readyz_turns_503_on_an_open_keep_alive_connection_as_soon_as_draining_begins(
    clean_db: str, clean_redis: str
) -> None:
    app = create_app(api_settings(clean_db, clean_redis))
    with ThreadedServer(app) as server:
        probe = KeepAliveProbe(server.management_port)
        try:
            assert probe.get("/readyz")[0] == 200
            litestar_of(app).state.lifecycle.begin_drain()
            assert probe.get("/readyz") == (503, {"status": "shutting down", "checks": {}})
            assert probe.get("/healthz") == (200, {"status": "ok"})  # still alive while draining
        finally:
            probe.close()
