"""Helpers for testing the web over real HTTP: its settings, and a client that acts like a browser."""

from __future__ import annotations

import re
from typing import Any

import httpx
import msgspec
import redis
from embedded_services import free_port

from docket_web.server.sessions import session_key, unseal
from docket_web.settings import WebSettings

PASSWORD = "correct horse battery"
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def web_settings(api_url: str, redis_url: str, **overrides: Any) -> WebSettings:
    """Test settings for the web: it trusts loopback as its ingress, so tests can play end users."""
    base: dict[str, Any] = {
        "management_port": free_port(),
        "environment": "test",
        "api_url": api_url,
        "redis_url": redis_url,
        "trusted_proxies": ["127.0.0.1/32"],
        "log_level": "WARNING",
        "api_timeout_seconds": 5.0,
    }
    base.update(overrides)
    return msgspec.convert(base, WebSettings)


class Browser(httpx.Client):
    """An HTTP client that acts like a browser without JavaScript: cookies, forms and CSRF tokens."""

    def __init__(self, base_url: str, forwarded_for: str | None = None) -> None:
        headers = {"Accept": "text/html"}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        super().__init__(base_url=base_url, timeout=20, headers=headers)
        # where the web's probes and metrics answer, when base_url is a test server's ServedUrl
        self.management: str | None = getattr(base_url, "management", None)

    def csrf_token(self, page: str = "/signin") -> str:
        """Load ``page`` and read the CSRF token from its meta tag, as the upload script does."""
        response = self.get(page)
        found = _META_TOKEN.search(response.text)
        assert found, f"no CSRF token on {page}: {response.status_code}"
        assert found.group(1), f"an empty CSRF token on {page}"
        return found.group(1)

    def submit(self, form_page: str, action: str, data: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """Load the page with the form, then post the form with its hidden CSRF field first, as a
        browser sends the page's forms (the token is the first field of each)."""
        token = self.csrf_token(form_page)
        return self.post(action, data={"_csrf_token": token, **data}, **kwargs)

    def sign_up(self, email: str = "ada@example.com") -> httpx.Response:
        response = self.submit("/signup", "/signup", {"email": email, "password": PASSWORD})
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/upload")
        return response

    def upload(self, *files: tuple[str, bytes]) -> httpx.Response:
        """The no-JavaScript upload: one multipart form with every file and the hidden CSRF field."""
        token = self.csrf_token("/upload")
        return self.post(
            "/upload", data={"_csrf_token": token}, files=[("file", (name, body)) for name, body in files]
        )

    def upload_streamed(self, name: str, body: bytes) -> httpx.Response:
        """The script's upload: one file per request, the CSRF token in a header, JSON back."""
        token = self.csrf_token("/upload")
        return self.post(
            "/upload",
            files={"file": (name, body)},
            headers={"X-CSRFToken": token, "Accept": "application/json"},
        )

    def session_cookie(self) -> str:
        return next(value for name, value in self.cookies.items() if name.endswith("docket_session"))


def stored_session(redis_url: str, cookie_value: str) -> dict[str, Any] | None:
    """The server-side session behind a cookie, straight from Redis (unsealed with the cookie)."""
    client: Any = redis.Redis.from_url(redis_url)
    try:
        raw = client.get(session_key(cookie_value))
    finally:
        client.close()
    stored = unseal(cookie_value, raw) if raw else None
    return msgspec.structs.asdict(stored) if stored else None
