"""Request tracing that costs next to nothing for the requests the sampler leaves out.

Litestar's OpenTelemetry middleware builds a span for every request and lets the sampler turn it into
a non-recording one: the span object, its attributes and the context are paid for either way. This
middleware asks the same decision first (``RequestSampler``) and sends an unsampled request straight
to the app with instrumentation suppressed, so neither the server span nor the psycopg and redis
spans under it are created.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.plugins.opentelemetry import OpenTelemetryConfig
from litestar.plugins.opentelemetry.middleware import OpenTelemetryInstrumentationMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry.instrumentation.utils import suppress_instrumentation

from docket_core.telemetry import RequestSampler, clear_preset_trace_id, preset_trace_id


@dataclass
class SampledTracingConfig(OpenTelemetryConfig):
    """Litestar's tracing config, plus the share of requests without a sampled parent to trace."""

    sample_ratio: float = 1.0


class SampledTracingMiddleware(OpenTelemetryInstrumentationMiddleware):
    """Traces a request only when the tracer provider's sampler would keep it."""

    def __init__(self, app: ASGIApp, config: SampledTracingConfig) -> None:
        super().__init__(app, config)
        self.sampler = RequestSampler(config.sample_ratio)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        decision = self.sampler.decide(_header(scope, b"traceparent"))
        if decision is None:
            with suppress_instrumentation():
                await self.app(scope, receive, send)
        elif decision == 0:  # the caller sampled it: the middleware continues the caller's trace
            await self.open_telemetry_middleware(scope, receive, send)  # type: ignore[arg-type]
        else:
            token = preset_trace_id(decision)
            try:
                await self.open_telemetry_middleware(scope, receive, send)  # type: ignore[arg-type]
            finally:
                clear_preset_trace_id(token)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None
