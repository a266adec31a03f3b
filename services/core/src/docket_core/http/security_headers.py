"""ASGI middleware that adds the security headers to every response."""

from __future__ import annotations

from collections.abc import Iterable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI is a page of its own: it needs its bundle from the CDN and one inline bootstrap script.
DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "connect-src 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)


def security_headers(csp: str) -> list[tuple[bytes, bytes]]:
    """The header set every Docket response carries, with the given Content-Security-Policy."""
    pairs = {
        "content-security-policy": csp,
        "strict-transport-security": "max-age=31536000; includeSubDomains",
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "permissions-policy": PERMISSIONS_POLICY,
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
    }
    return [(k.encode(), v.encode()) for k, v in pairs.items()]


class SecurityHeadersMiddleware:
    """Adds security headers unless the handler already set that header."""

    def __init__(
        self, app: ASGIApp, csp: str = API_CSP, csp_overrides: Iterable[tuple[str, str]] = ()
    ) -> None:
        self.app = app
        self.default = security_headers(csp)
        self.overrides = [(prefix, security_headers(policy)) for prefix, policy in csp_overrides]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        extra = self.default
        for prefix, headers in self.overrides:
            if scope["path"].startswith(prefix):
                extra = headers
                break

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers.extend(pair for pair in extra if pair[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
