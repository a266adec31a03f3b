"""The web service's app factory: server-rendered pages that call the API for the user."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp

from docket_core.http.client_ip import parse_networks
from docket_core.http.plugin import ServicePlugin, wrap_asgi
from docket_core.lifecycle import Lifecycle
from docket_core.logging import configure_logging
from docket_core.redis import create_redis
from docket_core.sentry import init_sentry
from docket_core.settings import load_settings
from docket_core.telemetry import build_tracer_provider, instrument_libraries
from docket_web.pages.auth import AuthController
from docket_web.pages.documents import DocumentController
from docket_web.pages.live import status_events
from docket_web.pages.search import search
from docket_web.pages.tokens import TokenController
from docket_web.pages.uploads import CSRF_HEADER, upload_router
from docket_web.pages.workspaces import InvitationController, WorkspaceController
from docket_web.server.api import ApiUnavailableError
from docket_web.server.assets import AssetManifest, static_asset
from docket_web.server.body_deadline import BodyDeadlineMiddleware
from docket_web.server.csrf import BoundedCSRFMiddleware
from docket_web.server.errors import EXCEPTION_HANDLERS
from docket_web.server.filters import FILTERS, TESTS
from docket_web.server.render import with_query
from docket_web.server.sessions import SessionStore
from docket_web.server.signed_in import SignedInMiddleware
from docket_web.settings import WebSettings

SERVICE_NAME = "docket-web"
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PACKAGE = Path(__file__).parent
# no CSRF cookie on probes, metrics, immutable assets or the event stream: they change nothing
CSRF_EXEMPT = ["^/static/", "^/healthz$", "^/readyz$", "^/metrics$", "^/events$"]
logger = logging.getLogger("docket.web")


def create_app(settings: WebSettings | None = None) -> ASGIApp:
    """Build the web app; uvicorn calls this once per worker process."""
    settings = settings or load_settings(WebSettings)
    configure_logging(settings.log_level, SERVICE_NAME)
    init_sentry(settings, SERVICE_NAME)
    provider = build_tracer_provider(
        SERVICE_NAME,
        settings.release,
        settings.otel_exporter_otlp_endpoint,
        sample_ratio=settings.traces_sample_ratio,
    )
    if provider is not None:
        instrument_libraries(provider)
    assets = AssetManifest(PACKAGE / "static")

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        connect = min(2.0, settings.api_timeout_seconds)
        limits = httpx.Limits(
            max_connections=settings.api_max_connections,
            max_keepalive_connections=max(1, settings.api_max_connections // 5),
        )
        redis = create_redis(settings)
        async with httpx.AsyncClient(
            base_url=settings.api_url,
            timeout=httpx.Timeout(settings.api_timeout_seconds, connect=connect),
            limits=limits,
            follow_redirects=False,
        ) as client:
            app.state.http = client
            app.state.redis = redis
            app.state.sessions = SessionStore(
                redis, settings.session_ttl_seconds, settings.session_max_age_seconds, settings.secure_cookies
            )
            logger.info("web started", extra={"port": settings.port, "api_url": settings.api_url})
            try:
                yield
            finally:
                await redis.aclose()
                logger.info("web stopped")

    async def check_api() -> None:
        # The API's probes answer on its management port only. Its public port answers /healthz with a
        # 404 before any authentication or rate limit: any answer under 500 shows the API serves.
        response = await app.state.http.get("/healthz", timeout=1.0)
        if response.status_code >= 500:
            raise ApiUnavailableError(f"API answered {response.status_code}")

    async def check_redis() -> None:
        await app.state.redis.ping()

    def configure_templates(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals["asset"] = assets.url
        engine.engine.globals["url"] = with_query
        engine.engine.filters.update(FILTERS)
        engine.engine.tests.update(TESTS)

    app = Litestar(
        route_handlers=[
            AuthController,
            DocumentController,
            WorkspaceController,
            InvitationController,
            TokenController,
            upload_router(settings),
            status_events,
            search,
            static_asset,
        ],
        plugins=[
            ServicePlugin(
                Lifecycle(),
                lambda: {"api": check_api, "redis": check_redis},
                provider,
                trace_sample_ratio=settings.traces_sample_ratio,
            )
        ],
        lifespan=[lifespan],
        # outermost first: every body read is on a deadline; a change is refused without a CSRF
        # token, then without a session, before anything reads its body
        middleware=[
            DefineMiddleware(
                BodyDeadlineMiddleware,
                min_bytes_per_second=settings.upload_min_bytes_per_second,
                grace_seconds=settings.upload_grace_seconds,
                max_seconds=settings.upload_max_seconds,
            ),
            DefineMiddleware(BoundedCSRFMiddleware, config=csrf_config(settings)),
            SignedInMiddleware,
        ],
        template_config=TemplateConfig(
            directory=PACKAGE / "templates", engine=JinjaTemplateEngine, engine_callback=configure_templates
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=64 * 1024,  # sign-in and the other small forms; uploads set their own
        openapi_config=None,
        debug=False,
    )
    app.state.assets = assets
    app.state.settings = settings
    app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    app.state.stream_timeout = httpx.Timeout(settings.api_timeout_seconds, read=60.0)
    return wrap_asgi(app, csp=WEB_CSP, management_port=settings.management_port, close_unread_bodies=True)


def csrf_config(settings: WebSettings) -> CSRFConfig:
    """The CSRF cookie and token settings (checked by BoundedCSRFMiddleware, not Litestar's own)."""
    return CSRFConfig(
        secret=settings.csrf_signing_secret,
        cookie_name="__Host-csrftoken" if settings.secure_cookies else "csrftoken",
        cookie_secure=settings.secure_cookies,
        cookie_httponly=True,  # pages carry the token (hidden field, meta tag); scripts never read it
        cookie_samesite="lax",
        header_name=CSRF_HEADER,
        exclude=CSRF_EXEMPT,
    )
