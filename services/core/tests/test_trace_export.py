"""Spans leave in small batches: each export holds the GIL while it encodes, so its size bounds how
long the event loop can be kept waiting (bench/README.md, issue #16's open-loop tail).

The real OTLP/HTTP exporter posts to a collector this module runs on 127.0.0.1, which decodes each
request with the OTLP protobuf types and keeps how many spans it carried.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from embedded_services import free_port
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from servers import serving_in_background

from docket_core.telemetry import EXPORT_BATCH_SPANS, build_tracer_provider


class _Handler(BaseHTTPRequestHandler):
    server: OtlpCollector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = ExportTraceServiceRequest.FromString(body)
        spans = sum(len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans)
        with self.server.lock:
            self.server.batches.append(spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class OtlpCollector(ThreadingHTTPServer):
    """Counts the spans of each ``POST /v1/traces``."""

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.lock = threading.Lock()
        self.batches: list[int] = []


@pytest.fixture
def collector() -> Iterator[OtlpCollector]:
    with serving_in_background(OtlpCollector(free_port())) as server:
        yield server


def _export_spans(collector: OtlpCollector, count: int) -> list[int]:
    """End ``count`` spans on a provider built as the services build theirs; the batches posted."""
    provider = build_tracer_provider(
        "docket-test", "test", f"http://127.0.0.1:{collector.server_address[1]}", sample_ratio=1.0
    )
    assert provider is not None
    tracer = provider.get_tracer("test")
    for number in range(count):
        with tracer.start_as_current_span(f"span {number}") as span:
            span.set_attribute("db.statement", "SELECT 1")
    assert provider.force_flush(30_000)
    provider.shutdown()
    return collector.batches


def test_spans_are_exported_in_batches_of_at_most_64(
    collector: OtlpCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", raising=False)
    monkeypatch.delenv("OTEL_BSP_SCHEDULE_DELAY", raising=False)
    batches = _export_spans(collector, 300)
    assert sum(batches) == 300, "every span reached the collector"
    assert max(batches) == EXPORT_BATCH_SPANS == 64  # the SDK's default would send up to 512 at once


def test_the_sdks_own_variable_still_sets_the_batch_size(
    collector: OtlpCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10")
    batches = _export_spans(collector, 45)
    assert sum(batches) == 45
    assert max(batches) == 10
