"""The API's app factory: reads the settings, then wires the plugins, routes and middleware."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp
from opentelemetry.sdk.trace import SpanProcessor

from docket_api.domain.auth.controllers import AuthController
from docket_api.domain.auth.tokens import TokenCodec
from docket_api.domain.documents.controllers import DocumentController
from docket_api.domain.search.controllers import SearchController
from docket_api.domain.tokens.controllers import TokenController
from docket_api.domain.workspaces.controllers import InvitationController, WorkspaceController
from docket_api.server.allow import complete_allow_header
from docket_api.server.gate import GateMiddleware
from docket_api.server.lifespan import check_database, check_redis, make_lifespan
from docket_api.server.openapi import RATE_LIMIT_HEADERS, StrictStructSchemaPlugin, openapi_config
from docket_api.server.read_your_writes import ReadYourWritesMiddleware
from docket_api.settings import ApiSettings
from docket_core.http.client_ip import parse_networks
from docket_core.http.plugin import ServicePlugin, wrap_asgi
from docket_core.http.security_headers import API_CSP, DOCS_CSP
from docket_core.lifecycle import Lifecycle
from docket_core.logging import configure_logging
from docket_core.sentry import init_sentry
from docket_core.settings import load_settings
from docket_core.telemetry import build_tracer_provider, instrument_libraries

SERVICE_NAME = "docket-api"


def create_app(settings: ApiSettings | None = None, span_processor: SpanProcessor | None = None) -> ASGIApp:
    """Build the API; uvicorn calls this once per worker process."""
    settings = settings or load_settings(ApiSettings)
    configure_logging(settings.log_level, SERVICE_NAME)
    sentry_on = init_sentry(settings, SERVICE_NAME)
    provider = build_tracer_provider(
        SERVICE_NAME,
        settings.release,
        settings.otel_exporter_otlp_endpoint,
        span_processor,
        sample_ratio=settings.traces_sample_ratio,
    )
    if provider is not None:
        instrument_libraries(provider)
    codec = TokenCodec(
        settings.signing_secret,
        settings.jwt_secret_previous,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.access_token_ttl_seconds,
    )
    lifecycle = Lifecycle()
    app = Litestar(
        route_handlers=[
            AuthController,
            DocumentController,
            SearchController,
            WorkspaceController,
            InvitationController,
            TokenController,
        ],
        plugins=[
            ServicePlugin(
                lifecycle,
                lambda: {"database": lambda: check_database(app), "redis": lambda: check_redis(app)},
                provider,
                trace_sample_ratio=settings.traces_sample_ratio,
            ),
            StrictStructSchemaPlugin(),
        ],
        before_send=[complete_allow_header],
        middleware=[
            DefineMiddleware(
                GateMiddleware,
                settings=settings,
                codec=codec,
                trusted=parse_networks(settings.trusted_proxies),
                sentry_on=sentry_on,
            ),
            *([DefineMiddleware(ReadYourWritesMiddleware)] if settings.database_read_url else []),
        ],
        lifespan=[make_lifespan(settings, codec)],
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=[
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "Retry-After",
                "Location",
            ],
        )
        if settings.cors_origins
        else None,
        openapi_config=openapi_config(settings.swagger_enabled, settings.release),
        response_headers=RATE_LIMIT_HEADERS,
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
    app.state.settings = settings
    return wrap_asgi(
        app,
        csp=API_CSP,
        csp_overrides=[("/api/docs", DOCS_CSP)],
        management_port=settings.management_port,
    )
