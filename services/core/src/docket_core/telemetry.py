"""OpenTelemetry tracing: OTLP export when configured, instrumentation of psycopg, redis and httpx."""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

logger = logging.getLogger("docket.telemetry")
_instrumented = False


def build_tracer_provider(
    service_name: str, release: str, otlp_endpoint: str = "", processor: SpanProcessor | None = None
) -> TracerProvider | None:
    """A tracer provider for ``service_name``, or None when tracing is not configured."""
    if processor is None and not otlp_endpoint:
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.version": release})
    )
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
