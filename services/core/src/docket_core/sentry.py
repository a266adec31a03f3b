"""Sentry error reporting, on only when ``SENTRY_DSN`` is set, with request data scrubbed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sentry_sdk
from sentry_sdk.integrations.litestar import LitestarIntegration
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.types import Event, Hint

from docket_core.http.observe import PROBE_PATHS
from docket_core.settings import CommonSettings

_SCRUBBED_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-csrftoken", "proxy-authorization"})


def _is_probe(event: Event) -> bool:
    url = (event.get("request") or {}).get("url") or ""
    transaction = event.get("transaction") or ""
    return urlsplit(str(url)).path in PROBE_PATHS or transaction in PROBE_PATHS


def scrub_event(event: Event, hint: Hint | None = None) -> Event | None:
    """Drop probe events; remove bodies, cookies, credentials and query strings from the rest."""
    if _is_probe(event):
        return None
    request: dict[str, Any] | None = event.get("request")
    if request:
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("query_string", None)
        headers = request.get("headers") or {}
        request["headers"] = {k: v for k, v in headers.items() if k.lower() not in _SCRUBBED_HEADERS}
    user = event.get("user")
    if user:
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return event


def init_sentry(settings: CommonSettings, service: str) -> bool:
    """Initialise the sdk if a DSN is configured; return whether it is on."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment,
        release=settings.release,
        server_name=service,
        send_default_pii=False,
        max_request_body_size="never",
        # frame locals hold request bodies, headers and scopes (passwords, tokens, cookies)
        include_local_variables=False,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        integrations=[LitestarIntegration()],
        before_send=scrub_event,
        before_send_transaction=scrub_event,
    )
    # the Litestar integration already reports unhandled errors; the log line would be a duplicate
    ignore_logger("docket.errors")
    sentry_sdk.set_tag("service", service)
    return True


def set_sentry_user(user_id: str) -> None:
    """Attach the authenticated user's id (never the email) to events from this request."""
    sentry_sdk.set_user({"id": user_id})
