"""OpenTelemetry tracing: OTLP export when configured, instrumentation of psycopg, redis and httpx."""

from __future__ import annotations

import contextvars
import logging
import os
import random
import re
from collections.abc import Mapping
from typing import Any

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from docket_core.logging import request_id_var, request_trace_var

logger = logging.getLogger("docket.telemetry")
_instrumented = False

# The exporter encodes a batch in Python while it holds the GIL, about 0.15 ms a span, so the SDK's
# default batch (up to 512 spans, every 5 s) held the event loop off for 25-30 ms of CPU at a time
# (bench/README.md, issue #16's open-loop tail). Batches of at most 64 spans, sent every second,
# bound each export to about 10 ms at the cost of a few more small POSTs. OTEL_BSP_MAX_EXPORT_BATCH_SIZE
# and OTEL_BSP_SCHEDULE_DELAY (the SDK's own variables) still override these.
EXPORT_BATCH_SPANS = 64
EXPORT_INTERVAL_MS = 1000


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


# The trace id the request sampler drew for a request it decided to trace (see RequestSampler).
_preset_trace_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("preset_trace_id", default=None)
# W3C trace context: version-traceid-parentid-flags; version ff and all-zero ids are invalid.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


class PresetTraceIds(RandomIdGenerator):
    """Random ids, except a request's root span takes the trace id its sampling decision was made on."""

    def generate_trace_id(self) -> int:
        preset = _preset_trace_id.get()
        return preset if preset is not None else super().generate_trace_id()


class RequestSampler:
    """The tracer provider's sampling decision, taken before any span object exists.

    It agrees with the provider's ``ParentBased(TraceIdRatioBased(ratio))``: a request that carries a
    valid ``traceparent`` is traced when its caller sampled it; any other request draws its trace id
    here and is traced when that id falls under the ratio's bound, and the root span then takes that
    id (``PresetTraceIds``), so the provider's sampler reaches the same answer.
    """

    def __init__(self, ratio: float) -> None:
        self.bound = TraceIdRatioBased.get_bound_for_rate(ratio)

    def decide(self, traceparent: bytes | None) -> int | None:
        """None: do not trace; 0: trace, following the caller; else the new trace id to trace under."""
        if traceparent is not None:
            sampled = _parent_sampled(traceparent)
            if sampled is not None:
                return 0 if sampled else None
        trace_id = random.getrandbits(128)
        while trace_id == 0:  # an invalid id; the SDK's generator redraws too
            trace_id = random.getrandbits(128)
        return trace_id if trace_id & TraceIdRatioBased.TRACE_ID_LIMIT < self.bound else None


def preset_trace_id(trace_id: int) -> contextvars.Token[int | None]:
    """Make ``trace_id`` the next root span's trace id in this context."""
    return _preset_trace_id.set(trace_id)


def clear_preset_trace_id(token: contextvars.Token[int | None]) -> None:
    _preset_trace_id.reset(token)


def _parent_sampled(traceparent: bytes) -> bool | None:
    """The sampled flag of a valid ``traceparent`` header, or None when it is not valid."""
    match = _TRACEPARENT.match(traceparent.decode("latin-1").strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or not int(trace_id, 16) or not int(span_id, 16):
        return None
    return bool(int(flags, 16) & 1)


def build_tracer_provider(
    service_name: str,
    release: str,
    otlp_endpoint: str = "",
    processor: SpanProcessor | None = None,
    *,
    sample_ratio: float,
) -> TracerProvider | None:
    """A tracer provider for ``service_name``, or None when tracing is not configured.

    Spans follow the caller's sampling decision; a trace that starts here is kept with probability
    ``sample_ratio``.
    """
    if processor is None and not otlp_endpoint:
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.version": release}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        id_generator=PresetTraceIds(),
    )
    provider.add_span_processor(RequestTraceRecorder())
    if processor is not None:
        provider.add_span_processor(processor)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter: SpanExporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
        provider.add_span_processor(batch_processor(exporter))
    return provider


def batch_processor(exporter: SpanExporter) -> BatchSpanProcessor:
    """The SDK's batch processor with Docket's batch size and interval, unless OTEL_BSP_* set them."""
    return BatchSpanProcessor(
        exporter,
        schedule_delay_millis=None if "OTEL_BSP_SCHEDULE_DELAY" in os.environ else EXPORT_INTERVAL_MS,
        max_export_batch_size=None if "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" in os.environ else EXPORT_BATCH_SPANS,
    )


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
