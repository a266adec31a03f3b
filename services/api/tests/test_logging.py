"""Logging: a real ``docket-api`` process writes only JSON lines, ids included, and never a secret.

The API runs as its own process (``docket-api serve``) with ``LOG_LEVEL=INFO``; the test drives a
whole session through it over HTTP with passwords, bearer tokens, refresh tokens (in bodies and in
a query string), a cookie and X-Request-ID headers, stops it with SIGTERM, and reads everything it
printed (stdout and stderr together, as a log collector would).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from embedded_services import free_port
from servers import cli, service_process, stop_and_read

JWT_SECRET = "logging-test-secret-that-is-long-enough-0123456789"
PASSWORD = "correct-horse-logging-password"
WRONG_PASSWORD = "wrong-horse-logging-password"
SHORT_PASSWORD = "tiny-pw"
COOKIE = "cookie-value-that-must-not-be-logged"
EMAIL = "logger@example.com"
REQUIRED_KEYS = {"ts", "level", "logger", "msg", "request_id", "trace_id", "span_id"}


@dataclass
class LoggedSession:
    """Everything the API printed, and every secret and request id the test sent it."""

    output: str
    secrets: dict[str, str] = field(default_factory=dict)
    request_ids: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.strip()]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture(scope="module")
def logged_session(make_database: Callable[[bool], str], redis_url: str) -> LoggedSession:
    port = free_port()
    env = {
        "ENVIRONMENT": "test",
        "PORT": str(port),
        "MANAGEMENT_PORT": str(free_port()),
        "DATABASE_URL": make_database(True),
        "REDIS_URL": redis_url,
        "JWT_SECRET": JWT_SECRET,
        "LOG_LEVEL": "INFO",
        "RATE_LIMIT_ANONYMOUS": "10000",
    }
    session = LoggedSession(output="")
    session.secrets.update(password=PASSWORD, wrong_password=WRONG_PASSWORD, short_password=SHORT_PASSWORD)
    session.secrets["cookie"] = COOKIE
    with service_process([*cli("docket-api"), "serve"], env, port) as proc:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1/auth", timeout=10) as client:

            def call(
                name: str, method: str, path: str, token: str | None = None, **kw: Any
            ) -> httpx.Response:
                request_id = f"logtest-{name}-0001"
                headers = {"X-Request-ID": request_id, "Cookie": f"session={COOKIE}"}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                response = client.request(method, path, headers=headers, **kw)
                session.request_ids[name] = request_id
                session.statuses[name] = response.status_code
                return response

            credentials = {"email": EMAIL, "password": PASSWORD}
            call("register", "POST", "/register", json=credentials)
            call(
                "register_short",
                "POST",
                "/register",
                json={"email": "x@example.com", "password": SHORT_PASSWORD},
            )
            first = call("login", "POST", "/login", json=credentials).json()
            call("login_wrong", "POST", "/login", json={"email": EMAIL, "password": WRONG_PASSWORD})
            second = call(
                "refresh", "POST", "/refresh", json={"refresh_token": first["refresh_token"]}
            ).json()
            call("me", "GET", "/me", token=second["access_token"])
            call(
                "me_query",
                "GET",
                f"/me?refresh_token={second['refresh_token']}",
                token=second["access_token"],
            )
            call("refresh_query", "POST", f"/refresh?refresh_token={second['refresh_token']}")
            call("refresh_reuse", "POST", "/refresh", json={"refresh_token": first["refresh_token"]})
            call(
                "logout",
                "POST",
                "/logout",
                token=second["access_token"],
                json={"refresh_token": second["refresh_token"]},
            )
            call("me_after_logout", "GET", "/me", token=second["access_token"])
            for name, pair in (("first", first), ("second", second)):
                session.secrets[f"{name}_access_token"] = pair["access_token"]
                session.secrets[f"{name}_refresh_token"] = pair["refresh_token"]
        output = stop_and_read(proc)
    session.output = output
    return session


def test_the_session_went_as_scripted(logged_session: LoggedSession) -> None:
    statuses = dict(logged_session.statuses)
    # no body, only a token in the query string: refused, whichever 4xx the validation layer picks
    assert 400 <= statuses.pop("refresh_query") < 500
    assert statuses == {
        "register": 201,
        "register_short": 422,
        "login": 200,
        "login_wrong": 401,
        "refresh": 200,
        "me": 200,
        "me_query": 200,
        "refresh_reuse": 401,
        "logout": 204,
        "me_after_logout": 401,
    }, logged_session.output[-3000:]


def test_every_output_line_is_json_with_the_standard_keys(logged_session: LoggedSession) -> None:
    assert len(logged_session.lines) > len(logged_session.statuses)
    for line in logged_session.lines:
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(record, dict), line
        assert set(record) >= REQUIRED_KEYS, f"missing {REQUIRED_KEYS - set(record)} in {line}"
        assert record["level"] in {"debug", "info", "warning", "error", "critical"}, line
        assert isinstance(record["msg"], str), line
        assert record["msg"], line
        assert dt.datetime.fromisoformat(record["ts"]).tzinfo is not None, line


def test_the_access_line_carries_the_x_request_id_that_was_sent(logged_session: LoggedSession) -> None:
    access = [record for record in logged_session.records() if record["logger"] == "docket.access"]
    by_request_id = {record["request_id"]: record for record in access}
    for name, request_id in logged_session.request_ids.items():
        assert request_id in by_request_id, f"no access line for {name} ({request_id})"
        assert by_request_id[request_id]["status"] == logged_session.statuses[name]
    assert len(access) == len(logged_session.request_ids), "one access line per request"


def test_no_password_token_or_cookie_appears_anywhere_in_the_output(logged_session: LoggedSession) -> None:
    assert logged_session.secrets
    for name, secret in logged_session.secrets.items():
        assert secret not in logged_session.output, f"the {name} was logged"
    for name, secret in logged_session.secrets.items():
        if name.endswith("access_token"):  # not even part of a JWT: its claims or its signature
            for part in secret.split(".")[1:]:
                assert part not in logged_session.output, f"part of the {name} was logged"
