"""The web service's settings: the common ones plus where the API is."""

from __future__ import annotations

from docket_core.settings import CommonSettings


class WebSettings(CommonSettings, kw_only=True, frozen=True):
    """Every environment variable the web service reads (see docs/configuration.md)."""

    port: int = 8080
    api_url: str = "http://127.0.0.1:8000"
    api_timeout_seconds: float = 10.0
