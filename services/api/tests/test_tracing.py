"""Tracing: one request is one trace, with a SERVER span, its database spans, and its log lines.

OpenTelemetry instrumentation is global and done once per process (``instrument_libraries``), so
whichever test built the first traced app in a pytest process would own the psycopg spans. This
module therefore runs the traced API in a fresh interpreter: this same file, run as a script, builds
``create_app(settings, span_processor=SimpleSpanProcessor(InMemorySpanExporter()))``, serves it with
uvicorn on loopback, sends real HTTP requests, and writes the finished spans to a JSON file; its
stdout holds the API's JSON log lines. The test functions below only read those two outputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
TRACED_REQUEST_ID = "traced-me-request-0001"
REUSE_REQUEST_ID = "traced-reuse-request-0001"
UNTRACED_REQUEST_ID = "untraced-request-0001"
CALLER_TRACE_ID, CALLER_SPAN_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
SAMPLED_PARENT = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"
UNSAMPLED_PARENT = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-00"
SERVER, CLIENT = "SpanKind.SERVER", "SpanKind.CLIENT"


# ---------------------------------------------------------------------------------------------
# The child: runs in its own interpreter (python test_tracing.py SPANS_JSON)
# ---------------------------------------------------------------------------------------------


def _call(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One real HTTP request with urllib, which is not instrumented, so the client adds no spans."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, None


def _span_record(span: Any) -> dict[str, Any]:
    return {
        "name": span.name,
        "kind": str(span.kind),
        "trace_id": format(span.context.trace_id, "032x"),
        "span_id": format(span.context.span_id, "016x"),
        "parent_span_id": format(span.parent.span_id, "016x") if span.parent else None,
        "attributes": {key: str(value) for key, value in (span.attributes or {}).items()},
        "resource": {key: str(value) for key, value in span.resource.attributes.items()},
    }


def _finished_after(exporter: Any, server_spans: int) -> list[Any]:
    """The finished spans, once ``server_spans`` requests have ended theirs.

    The client has its response before the server ends the request's span, so wait for it.
    """
    from opentelemetry.trace import SpanKind

    deadline = time.monotonic() + 10
    while True:
        spans = list(exporter.get_finished_spans())
        if sum(span.kind is SpanKind.SERVER for span in spans) >= server_spans:
            return spans
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {spans} finished")
        time.sleep(0.01)


def run_traced_api(spans_path: str, ratio: str) -> None:
    from apikit import PASSWORD, api_settings
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from servers import ThreadedServer

    from docket_api.app import create_app

    exporter = InMemorySpanExporter()
    settings = api_settings(
        os.environ["DATABASE_URL"],
        os.environ["REDIS_URL"],
        log_level="INFO",
        traces_sample_ratio=float(ratio),
    )
    app = create_app(settings, span_processor=SimpleSpanProcessor(exporter))
    if ratio == "0":
        with ThreadedServer(app) as server:
            Path(spans_path).write_text(json.dumps(_unsampled_requests(server.url, exporter)))
        return
    results: dict[str, Any] = {}
    with ThreadedServer(app) as server:
        api = f"{server.url}/api/v1/auth"
        credentials = {"email": "trace@example.com", "password": PASSWORD}
        results["register"], _ = _call(f"{api}/register", "POST", credentials)
        results["login"], tokens = _call(f"{api}/login", "POST", credentials)
        _call(f"{api}/refresh", "POST", {"refresh_token": tokens["refresh_token"]})
        _finished_after(exporter, server_spans=3)
        exporter.clear()
        results["me"], _ = _call(
            f"{api}/me?refresh_token={tokens['refresh_token']}",
            headers={"Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": TRACED_REQUEST_ID},
        )
        results["me_spans"] = [_span_record(span) for span in _finished_after(exporter, server_spans=1)]
        exporter.clear()
        # a rotated refresh token presented again: the handler logs a warning inside the request
        results["reuse"], _ = _call(
            f"{api}/refresh",
            "POST",
            {"refresh_token": tokens["refresh_token"]},
            headers={"X-Request-ID": REUSE_REQUEST_ID},
        )
        results["reuse_spans"] = [_span_record(span) for span in _finished_after(exporter, server_spans=1)]
        exporter.clear()
        # the caller did not sample: neither does the API, whatever its own ratio
        results["declined"], _ = _call(
            f"{api}/me",
            headers={"Authorization": f"Bearer {tokens['access_token']}", "traceparent": UNSAMPLED_PARENT},
        )
        _call(f"{api}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        results["after_declined_spans"] = [
            _span_record(span) for span in _finished_after(exporter, server_spans=1)
        ]
    results["secrets"] = [tokens["refresh_token"], tokens["access_token"], PASSWORD]
    Path(spans_path).write_text(json.dumps(results))


def _unsampled_requests(url: str, exporter: Any) -> dict[str, Any]:
    """With a ratio of 0: requests without a sampled parent make no span at all, one with is traced."""
    from apikit import PASSWORD

    api = f"{url}/api/v1/auth"
    credentials = {"email": "untraced@example.com", "password": PASSWORD}
    results: dict[str, Any] = {}
    results["register"], _ = _call(f"{api}/register", "POST", credentials)
    results["login"], tokens = _call(f"{api}/login", "POST", credentials)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    results["me"], _ = _call(f"{api}/me", headers={**bearer, "X-Request-ID": UNTRACED_REQUEST_ID})
    results["broken_parent"], _ = _call(f"{api}/me", headers={**bearer, "traceparent": "00-zz-11-01"})
    # the caller sampled this one: it is traced, in the caller's trace, whatever the ratio
    results["followed"], _ = _call(f"{api}/me", headers={**bearer, "traceparent": SAMPLED_PARENT})
    results["spans"] = [_span_record(span) for span in _finished_after(exporter, server_spans=1)]
    return results


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


@dataclass
class TracedRun:
    results: dict[str, Any]
    log_lines: list[dict[str, Any]]
    stdout: str

    def spans(self, which: str) -> list[dict[str, Any]]:
        return self.results[f"{which}_spans"]  # type: ignore[no-any-return]

    def server_span(self, which: str) -> dict[str, Any]:
        servers = [span for span in self.spans(which) if span["kind"] == SERVER]
        assert len(servers) == 1, f"expected one SERVER span, got {self.spans(which)}"
        return servers[0]

    def logs_of(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.log_lines if line.get("request_id") == request_id]


def _run_child(
    make_database: Callable[[bool], str], redis_url: str, tmp_path_factory: pytest.TempPathFactory, ratio: str
) -> TracedRun:
    database_url = make_database(True)  # a fresh schema, so the run sees no other test's rows
    spans_path = tmp_path_factory.mktemp("tracing") / "spans.json"
    python_path = os.pathsep.join([str(ROOT / "tests" / "support"), str(ROOT / "scripts")])
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PYTHONPATH": python_path}
    child = subprocess.run(
        [sys.executable, __file__, str(spans_path), ratio],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert child.returncode == 0, f"traced API run failed:\n{child.stdout[-3000:]}\n{child.stderr[-3000:]}"
    log_lines = [json.loads(line) for line in child.stdout.splitlines() if line.startswith("{")]
    return TracedRun(json.loads(spans_path.read_text()), log_lines, child.stdout)


@pytest.fixture(scope="module")
def traced_run(
    make_database: Callable[[bool], str], redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> TracedRun:
    """Every trace that starts in the API is kept (ratio 1)."""
    return _run_child(make_database, redis_url, tmp_path_factory, "1")


@pytest.fixture(scope="module")
def unsampled_run(
    make_database: Callable[[bool], str], redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> TracedRun:
    """No trace that starts in the API is kept (ratio 0); callers' sampled traces still are."""
    return _run_child(make_database, redis_url, tmp_path_factory, "0")


def test_the_traced_requests_succeeded(traced_run: TracedRun) -> None:
    assert traced_run.results["register"] == 201
    assert traced_run.results["login"] == 200
    assert traced_run.results["me"] == 200
    assert traced_run.results["reuse"] == 401


def test_one_request_is_one_trace_with_a_server_span_and_a_database_child(traced_run: TracedRun) -> None:
    server = traced_run.server_span("me")
    assert server["parent_span_id"] is None, "the request started its own trace"
    assert server["resource"]["service.name"] == "docket-api"
    assert all(span["trace_id"] == server["trace_id"] for span in traced_run.spans("me"))

    by_id = {span["span_id"]: span for span in traced_run.spans("me")}

    def descends_from_server(span: dict[str, Any]) -> bool:
        parent = span["parent_span_id"]
        while parent is not None:
            if parent == server["span_id"]:
                return True
            parent = by_id[parent]["parent_span_id"] if parent in by_id else None
        return False

    database = [
        span for span in traced_run.spans("me") if span["attributes"].get("db.system") == "postgresql"
    ]
    assert database, f"no psycopg span in {[s['name'] for s in traced_run.spans('me')]}"
    assert any("users" in span["attributes"].get("db.statement", "") for span in database)
    assert all(span["kind"] == CLIENT and descends_from_server(span) for span in database)


def test_a_log_line_inside_a_traced_request_carries_its_trace_id(traced_run: TracedRun) -> None:
    server = traced_run.server_span("reuse")
    warnings = [line for line in traced_run.logs_of(REUSE_REQUEST_ID) if "reuse" in line["msg"]]
    assert warnings, traced_run.stdout[-3000:]
    assert warnings[0]["trace_id"] == server["trace_id"]
    assert warnings[0]["span_id"] in {span["span_id"] for span in traced_run.spans("reuse")}


def test_the_access_line_of_a_traced_request_carries_its_trace_id(traced_run: TracedRun) -> None:
    server = traced_run.server_span("me")
    access = [line for line in traced_run.logs_of(TRACED_REQUEST_ID) if line["logger"] == "docket.access"]
    assert len(access) == 1, traced_run.stdout[-3000:]
    assert access[0]["trace_id"] == server["trace_id"]
    assert access[0]["span_id"] == server["span_id"]
    # each request's line names its own trace, not the one before it
    reuse = [line for line in traced_run.logs_of(REUSE_REQUEST_ID) if line["logger"] == "docket.access"]
    assert [line["trace_id"] for line in reuse] == [traced_run.server_span("reuse")["trace_id"]]


def test_spans_record_no_query_string_token_or_password(traced_run: TracedRun) -> None:
    server = traced_run.server_span("me")
    assert server["attributes"]["http.target"] == "/api/v1/auth/me"
    everything = json.dumps([traced_run.spans("me"), traced_run.spans("reuse")])
    for secret in traced_run.results["secrets"]:
        assert secret not in everything, [s for s in everything.split(", ") if secret in s]


def test_the_production_default_keeps_one_trace_in_ten() -> None:
    from docket_api.settings import ApiSettings
    from docket_core.settings import SettingsError, load_settings

    assert load_settings(ApiSettings, {"JWT_SECRET": "x" * 40}).traces_sample_ratio == 0.1
    with pytest.raises(SettingsError, match="TRACES_SAMPLE_RATIO"):
        load_settings(ApiSettings, {"TRACES_SAMPLE_RATIO": "1.5"})


def test_a_request_the_sampler_leaves_out_makes_no_span_at_all(unsampled_run: TracedRun) -> None:
    results = unsampled_run.results
    assert (results["register"], results["login"], results["me"], results["broken_parent"]) == (
        201,
        200,
        200,
        200,
    )
    # only the followed request left spans: no server, psycopg or redis span for the others
    assert {span["trace_id"] for span in results["spans"]} == {CALLER_TRACE_ID}
    lines = unsampled_run.logs_of(UNTRACED_REQUEST_ID)
    access = [line for line in lines if line["logger"] == "docket.access"]
    assert len(access) == 1, "still logged"
    assert access[0]["trace_id"] is None, "with no trace to name"


def test_a_caller_that_sampled_is_followed_whatever_the_ratio(unsampled_run: TracedRun) -> None:
    assert unsampled_run.results["followed"] == 200
    spans = unsampled_run.results["spans"]
    servers = [span for span in spans if span["kind"] == SERVER]
    assert len(servers) == 1
    assert servers[0]["parent_span_id"] == CALLER_SPAN_ID
    assert any(span["attributes"].get("db.system") == "postgresql" for span in spans)


def test_a_caller_that_did_not_sample_is_followed_too(traced_run: TracedRun) -> None:
    assert traced_run.results["declined"] == 200
    # at ratio 1 the next request is traced; the declined one before it left nothing
    spans = traced_run.spans("after_declined")
    assert [span["kind"] for span in spans].count(SERVER) == 1, spans
    assert len({span["trace_id"] for span in spans}) == 1
    assert CALLER_TRACE_ID not in {span["trace_id"] for span in spans}


if __name__ == "__main__":
    run_traced_api(sys.argv[1], sys.argv[2])
