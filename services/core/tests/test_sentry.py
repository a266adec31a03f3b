"""Sentry: on only with SENTRY_DSN, tagged with environment and release, and never carrying secrets.

The real sentry-sdk runs inside a real ``docket-api`` process and posts its envelopes over HTTP to a
collector that this module runs on 127.0.0.1. ``sentry_sdk.init`` is global to a process, so the API
runs as a subprocess and the sdk never touches the pytest process.
"""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from embedded_services import free_port
from servers import cli, service_process, serving_in_background, stop_and_read

from docket_api.domain.auth.tokens import TokenCodec
from docket_core.sentry import init_sentry
from docket_core.settings import CommonSettings

JWT_SECRET = "sentry-test-secret-that-is-long-enough-0123456789"
RELEASE = "docket@9.8.7-sentrytest"
PASSWORD = "hunter2-sentry-password-value"
EMAIL = "sentry-user@example.com"
COOKIE = "secret-cookie"
QUERY_SECRET = "query-secret-value-0123456789"
PROBES = ("/healthz", "/readyz", "/metrics")


@dataclass
class Envelope:
    """One envelope as the sdk posted it: the raw (decompressed) bytes and its parsed items."""

    path: str
    raw: bytes
    header: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]]

    def payloads(self, item_type: str) -> list[dict[str, Any]]:
        return [json.loads(body) for head, body in self.items if head.get("type") == item_type]


def parse_envelope(path: str, raw: bytes) -> Envelope:
    """Split a Sentry envelope: a header line, then (item header, payload) pairs."""
    header_line, _, rest = raw.partition(b"\n")
    items: list[tuple[dict[str, Any], bytes]] = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item_header = json.loads(item_line)
        if "length" in item_header:
            length = int(item_header["length"])
            body, rest = rest[:length], rest[length:].removeprefix(b"\n")
        else:
            body, _, rest = rest.partition(b"\n")
        items.append((item_header, body))
    return Envelope(path, raw, json.loads(header_line), items)


class _CollectorHandler(BaseHTTPRequestHandler):
    server: SentryCollector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding:
            raise AssertionError(f"collector cannot read Content-Encoding {encoding!r}")
        self.server.record(parse_envelope(self.path, body))
        payload = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class SentryCollector(ThreadingHTTPServer):
    """A stand-in Sentry ingest endpoint on loopback that keeps every envelope it receives."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CollectorHandler)
        self.envelopes: list[Envelope] = []
        self._lock = threading.Lock()

    def record(self, envelope: Envelope) -> None:
        with self._lock:
            self.envelopes.append(envelope)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server_address[1]}/1"


@dataclass
class SentryRun:
    """What one API process sent to Sentry, and what the test sent to the API."""

    envelopes: list[Envelope]
    user_id: str
    access_token: str
    statuses: dict[str, int]
    stdout: str
    events: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for envelope in self.envelopes:
            self.events += envelope.payloads("event")
            self.transactions += envelope.payloads("transaction")

    @property
    def raw(self) -> bytes:
        return b"\n".join(envelope.raw for envelope in self.envelopes)


@pytest.fixture(scope="module")
def collector() -> Iterator[SentryCollector]:
    with serving_in_background(SentryCollector()) as server:
        yield server


@pytest.fixture(scope="module")
def sentry_run(collector: SentryCollector, redis_url: str) -> SentryRun:
    """Run the API with Sentry on and a database that refuses connections; cause 503s, hit probes."""
    port, management_port = free_port(), free_port()
    env = {
        "ENVIRONMENT": "test",
        "RELEASE": RELEASE,
        "PORT": str(port),
        "MANAGEMENT_PORT": str(management_port),
        # nothing listens here, so every request that needs the database fails (503, database-unavailable)
        "DATABASE_URL": f"postgresql://docket@127.0.0.1:{free_port()}/docket",
        "DB_POOL_TIMEOUT": "0.5",
        "DB_POOL_MIN_SIZE": "0",
        "REDIS_URL": redis_url,
        "JWT_SECRET": JWT_SECRET,
        "SENTRY_DSN": collector.dsn,
        # sample every transaction, so a probe transaction would be sent if it were not dropped
        "SENTRY_TRACES_SAMPLE_RATE": "1.0",
        "LOG_LEVEL": "INFO",
    }
    user_id = str(uuid.uuid4())
    access_token = TokenCodec(JWT_SECRET, "", "docket", "docket-api", 900).issue(user_id)
    secret_headers = {"Authorization": f"Bearer {access_token}", "Cookie": f"session={COOKIE}"}
    statuses: dict[str, int] = {}
    with service_process([*cli("docket-api"), "serve"], env, port) as proc:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            login = client.post(
                f"/api/v1/auth/login?refresh_token={QUERY_SECRET}",
                json={"email": EMAIL, "password": PASSWORD},
                headers=secret_headers,
            )
            statuses["login"] = login.status_code
            statuses["me"] = client.get("/api/v1/auth/me", headers=secret_headers).status_code
            for probe in PROBES:
                statuses[probe] = httpx.get(
                    f"http://127.0.0.1:{management_port}{probe}", headers=secret_headers
                ).status_code
        # uvicorn exits cleanly on SIGTERM, and the sdk flushes its queue at interpreter exit
        output = stop_and_read(proc)
    return SentryRun(list(collector.envelopes), user_id, access_token, statuses, output)


def test_sentry_is_off_without_a_dsn() -> None:
    import sentry_sdk

    assert init_sentry(CommonSettings(sentry_dsn=""), "docket-test") is False
    assert not sentry_sdk.get_client().is_active()


def test_the_scenario_really_failed_and_the_failing_readiness_probe_was_hit(sentry_run: SentryRun) -> None:
    assert sentry_run.statuses["login"] == 503, sentry_run.stdout[-3000:]
    assert sentry_run.statuses["me"] == 503, sentry_run.stdout[-3000:]
    assert sentry_run.statuses["/healthz"] == 200
    assert sentry_run.statuses["/readyz"] == 503
    assert sentry_run.statuses["/metrics"] == 200


def test_a_server_error_reaches_sentry_with_environment_and_release(sentry_run: SentryRun) -> None:
    assert sentry_run.events, f"no event arrived; API output:\n{sentry_run.stdout[-3000:]}"
    for event in sentry_run.events:
        assert event["environment"] == "test"
        assert event["release"] == RELEASE
    for envelope in sentry_run.envelopes:
        assert envelope.path == "/api/1/envelope/"
    # the failure of /me is reported as an exception, not just as a log line
    assert any(event.get("exception") for event in sentry_run.events)


def test_sentry_event_carries_user_id_but_no_body_cookies_or_credentials(sentry_run: SentryRun) -> None:
    assert sentry_run.events
    for event in sentry_run.events:
        assert event.get("user") == {"id": sentry_run.user_id}, event.get("user")
        request = event.get("request") or {}
        assert "data" not in request
        assert "cookies" not in request
        assert not request.get("query_string")
        header_names = {name.lower() for name in (request.get("headers") or {})}
        assert not header_names & {"authorization", "cookie"}, header_names
    raw = sentry_run.raw
    for secret in (PASSWORD, sentry_run.access_token, COOKIE, QUERY_SECRET, EMAIL, JWT_SECRET):
        assert secret.encode() not in raw, f"{secret[:12]}... found in what was sent to Sentry"
    # the signature alone would let someone forge nothing, but any part of the token is a leak
    assert sentry_run.access_token.split(".")[2].encode() not in raw


def test_probes_send_no_events_or_transactions(sentry_run: SentryRun) -> None:
    for payload in [*sentry_run.events, *sentry_run.transactions]:
        url = str((payload.get("request") or {}).get("url") or "")
        name = str(payload.get("transaction") or "")
        for probe in PROBES:
            assert not url.endswith(probe), f"probe {probe} was reported: {name} {url}"
            assert not name.endswith(probe.lstrip("/")), f"probe {probe} was reported: {name} {url}"
    # traces are sampled at 100%, so the API's own requests do arrive as transactions
    assert sentry_run.transactions, "no transaction arrived, so this test could not see a probe one"


def test_each_server_error_is_reported_once(sentry_run: SentryRun) -> None:
    # two requests failed (login and me); the error log line must not add a second event for each
    errors = [event for event in sentry_run.events if event.get("exception")]
    assert len(errors) == 2, [e.get("transaction") for e in errors]
