"""Helpers for talking to a real Docket API in tests."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from docket_api.settings import ApiSettings

TEST_SECRET = "test-secret-that-is-long-enough-0123456789"
PASSWORD = "correct horse battery"


def api_settings(database_url: str, redis_url: str, **overrides: Any) -> ApiSettings:
    """Test settings: high rate limits and a small pool unless overridden."""
    base: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "jwt_secret": TEST_SECRET,
        "rate_limit_anonymous": 10_000,
        "rate_limit_user": 10_000,
        "db_pool_min_size": 1,
        "db_pool_max_size": 4,
        "log_level": "WARNING",
    }
    base.update(overrides)
    return msgspec.convert(base, ApiSettings)


def register_and_login(client: httpx.Client, email: str = "ada@example.com") -> dict[str, Any]:
    """Create an account and return its token pair."""
    created = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    tokens = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    return tokens.json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
