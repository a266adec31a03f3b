"""The Litestar plugin every Docket service installs: errors, probes, metrics, tracing, shutdown."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from litestar.types import ASGIApp
from opentelemetry.sdk.trace import TracerProvider

from docket_core.http.health import Check, health_handlers
from docket_core.http.observe import PROBE_PATHS, EdgeMiddleware
from docket_core.http.problems import EXCEPTION_HANDLERS
from docket_core.http.security_headers import API_CSP
from docket_core.http.unread_body import CloseUnreadBodyMiddleware
from docket_core.lifecycle import Lifecycle
from docket_core.metrics import metrics_endpoint
from docket_core.startup_heap import freeze_startup_heap
from docket_core.telemetry import scrub_server_span


class ServicePlugin(InitPluginProtocol):
    """Adds what every service shares, so each app factory lists only its own parts."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        readiness_checks: Callable[[], Mapping[str, Check]],
        tracer_provider: TracerProvider | None = None,
        *,
        trace_sample_ratio: float | None = None,
    ) -> None:
        if tracer_provider is not None and trace_sample_ratio is None:
            # the request sampler and the provider's sampler must agree (the settings' TRACES_SAMPLE_RATIO)
            raise TypeError("a tracer provider needs its trace_sample_ratio")
        self.lifecycle = lifecycle
        self.readiness_checks = readiness_checks
        self.tracer_provider = tracer_provider
        self.trace_sample_ratio = trace_sample_ratio

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend(
            [*health_handlers(self.lifecycle, self.readiness_checks), metrics_endpoint]
        )
        app_config.logging_config = None  # configure_logging owns the handlers: JSON lines on stdout
        app_config.exception_handlers = {**EXCEPTION_HANDLERS, **app_config.exception_handlers}
        app_config.on_startup.append(lambda: self.lifecycle.chain_signal_handlers())
        # last: start-up hooks run after the lifespan managers, so the pools and clients are built
        app_config.on_startup.append(freeze_startup_heap)
        if self.tracer_provider is not None:
            from docket_core.http.tracing import SampledTracingConfig, SampledTracingMiddleware

            otel = SampledTracingConfig(
                tracer_provider=self.tracer_provider,
                middleware_class=SampledTracingMiddleware,
                sample_ratio=self.trace_sample_ratio or 0.0,
                exclude=[f"^{path}$" for path in PROBE_PATHS],
                server_request_hook_handler=scrub_server_span,
                # one server span per request; the per-message send/receive spans cost 0.2 ms each
                exclude_spans=["receive", "send"],
            )
            app_config.middleware.insert(0, otel.middleware)
        app_config.state["lifecycle"] = self.lifecycle
        return app_config


def wrap_asgi(
    app: Litestar,
    csp: str = API_CSP,
    csp_overrides: Iterable[tuple[str, str]] = (),
    *,
    management_port: int | None = None,
    close_unread_bodies: bool = False,
) -> ASGIApp:
    """Put the outermost layers around the app, so they also see 404s and errors.

    With ``management_port`` the probes and metrics answer only on that port, everything else only
    on the others; without it (the worker) one port serves everything. ``close_unread_bodies`` ends
    the connection after any answer given before the request body was read (see unread_body.py).
    """
    inner: ASGIApp = CloseUnreadBodyMiddleware(app) if close_unread_bodies else app
    wrapped = EdgeMiddleware(inner, csp=csp, csp_overrides=csp_overrides, management_port=management_port)
    wrapped.litestar = app  # type: ignore[attr-defined]
    wrapped.management_port = management_port  # type: ignore[attr-defined]
    return wrapped


def management_port_of(asgi: Any) -> int | None:
    """The management port a :func:`wrap_asgi` wrapper routes probes to (None: every port serves them)."""
    port = getattr(asgi, "management_port", None)
    return port if isinstance(port, int) else None


def litestar_of(asgi: Any) -> Litestar:
    """The Litestar app inside a :func:`wrap_asgi` wrapper."""
    return asgi.litestar if hasattr(asgi, "litestar") else asgi  # type: ignore[no-any-return]
