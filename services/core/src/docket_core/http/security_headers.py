"""The security headers every response carries (added by docket_core.http.observe.EdgeMiddleware)."""

from __future__ import annotations

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
