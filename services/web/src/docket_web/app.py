"""The web service's app factory: server-rendered pages that call the API for the user."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from litestar import Litestar, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp

from docket_core.http.plugin import ServicePlugin, wrap_asgi
from docket_core.lifecycle import Lifecycle
from docket_core.logging import configure_logging
from docket_core.sentry import init_sentry
from docket_core.settings import load_settings
from docket_web.settings import WebSettings

SERVICE_NAME = "docket-web"
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
logger = logging.getLogger("docket.web")


@get("/", sync_to_thread=False)
def home() -> Template:
    return Template(template_name="home.html")


def create_app(settings: WebSettings | None = None) -> ASGIApp:
    """Build the web app; uvicorn calls this once per worker process."""
    settings = settings or load_settings(WebSettings)
    configure_logging(settings.log_level, SERVICE_NAME)
    init_sentry(settings, SERVICE_NAME)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.api_timeout_seconds, connect=2.0)
        async with httpx.AsyncClient(base_url=settings.api_url, timeout=timeout) as client:
            app.state.api = client
            yield

    async def check_api() -> None:
        response = await app.state.api.get("/healthz", timeout=1.0)
        response.raise_for_status()

    app = Litestar(
        route_handlers=[home],
        plugins=[ServicePlugin(Lifecycle(), lambda: {"api": check_api})],
        lifespan=[lifespan],
        template_config=TemplateConfig(
            directory=Path(__file__).parent / "templates", engine=JinjaTemplateEngine
        ),
        openapi_config=None,
    )
    return wrap_asgi(app, csp=WEB_CSP)
