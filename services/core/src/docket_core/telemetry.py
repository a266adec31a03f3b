"""OpenTelemetry tracing: OTLP export when configured, instrumentation of psycopg, redis and httpx."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from docket_core.logging import request_id_var, request_trace_var

logger = logging.getLogger("docket.telemetry")
_instrumented = False


# URL attributes (old and new semantic conventions) that carry the query string, where clients put
# tokens; the path is kept, the query is not.
_URL_ATTRIBUTES = ("http.url", "url.full", "http.target")


def scrub_server_span(span: trace.Span, scope: Mapping[str, Any]) -> None:
    """Remove the query string from the request span's URL attributes (a server request hook).

    The ASGI instrumentation records the full URL, query included, and only redacts a few cloud
    signature parameters; a token sent as ``?refresh_token=...`` would reach the trace backend.
    """
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(key, value.split("?", 1)[0])
    if attributes.get("url.query"):
        span.set_attribute("url.query", "")


class RequestTraceRecorder(SpanProcessor):
    """Remembers the SERVER span of the request being served, for log lines written outside it.

    The access line is written by the outermost ASGI middleware after the tracing middleware has
    ended the span; without this it would carry no trace id.
    """

    def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
        request_id = request_id_var.get()
        if span.kind is trace.SpanKind.SERVER and request_id is not None:
            ids = span.get_span_context()
            request_trace_var.set((request_id, format(ids.trace_id, "032x"), format(ids.span_id, "016x")))


def build_tracer_provider(
    service_name: str, release: str, otlp_endpoint: str = "", processor: SpanProcessor | None = None
) -> TracerProvider | None:
    """A tracer provider for ``service_name``, or None when tracing is not configured."""
    if processor is None and not otlp_endpoint:
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.version": release})
    )
    provider.add_span_processor(RequestTraceRecorder())
    if processor is not None:
        provider.add_span_processor(processor)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter: SpanExporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def instrument_libraries(provider: TracerProvider) -> None:
    """Instrument psycopg, redis and httpx once per process, and make ``provider`` the global one."""
    global _instrumented
    if _instrumented:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    trace.set_tracer_provider(provider)
    PsycopgInstrumentor().instrument(tracer_provider=provider, enable_commenter=False)
    RedisInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _instrumented = True
    logger.info("tracing enabled")
