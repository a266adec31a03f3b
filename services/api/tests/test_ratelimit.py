"""The Redis rate limiter: per IP or per user, honest headers, proxies trusted only when listed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from apikit import bearer, register_and_login
from embedded_services import EmbeddedRedis


def _metric(base: str, name: str) -> float:
    for line in httpx.get(f"{base.management}/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_anonymous_client_gets_429_with_retry_after_once_over_the_limit(
    serve_api: Callable[..., str],
) -> None:
    base = serve_api(rate_limit_anonymous=3, rate_limit_window_seconds=60)
    seen = [httpx.get(f"{base}/api/v1/auth/me") for _ in range(4)]
    assert [r.status_code for r in seen] == [401, 401, 401, 429]
    assert [r.headers["ratelimit-remaining"] for r in seen] == ["2", "1", "0", "0"]
    assert all(r.headers["ratelimit-limit"] == "3" for r in seen)
    limited = seen[-1]
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert 0 < int(limited.headers["ratelimit-reset"]) <= 60
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert limited.json()["type"] == "urn:docket:problem:rate-limited"


def test_probes_and_metrics_are_exempt(serve_api: Callable[..., str]) -> None:
    base = serve_api(rate_limit_anonymous=1).management
    for _ in range(5):
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/metrics").status_code == 200
        assert "ratelimit-limit" not in httpx.get(f"{base}/healthz").headers


def test_signed_in_users_have_their_own_bucket(serve_api: Callable[..., str]) -> None:
    base = serve_api(rate_limit_anonymous=4, rate_limit_user=50)
    with httpx.Client(base_url=base) as client:
        tokens = register_and_login(client)  # two anonymous requests
        for _ in range(5):
            response = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
            assert response.status_code == 200
            assert response.headers["ratelimit-limit"] == "50"
        assert client.get("/api/v1/auth/me").headers["ratelimit-remaining"] == "1"


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(serve_api: Callable[..., str]) -> None:
    base = serve_api(rate_limit_anonymous=2, trusted_proxies=("10.0.0.0/8",))
    statuses = [
        httpx.get(f"{base}/api/v1/auth/me", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
        for i in range(3)
    ]
    assert statuses == [401, 401, 429], "each spoofed address must not get a fresh bucket"


def test_forwarded_for_from_a_trusted_proxy_gives_each_client_its_bucket(
    serve_api: Callable[..., str],
) -> None:
    base = serve_api(rate_limit_anonymous=2, trusted_proxies=("127.0.0.1/32",))
    for i in range(3):
        for _ in range(2):
            response = httpx.get(f"{base}/api/v1/auth/me", headers={"X-Forwarded-For": f"198.51.100.{i}"})
            assert response.status_code == 401
    third = httpx.get(f"{base}/api/v1/auth/me", headers={"X-Forwarded-For": "198.51.100.0"})
    assert third.status_code == 429
    # the client cannot prepend its own hops: only the rightmost untrusted address counts
    chained = httpx.get(f"{base}/api/v1/auth/me", headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.0"})
    assert chained.status_code == 429


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis().start()
    yield server
    server.stop()


def test_limiter_fails_open_when_redis_is_down_and_counts_it(
    serve_api: Callable[..., str], own_redis: EmbeddedRedis
) -> None:
    base = serve_api(redis_url=own_redis.url(), rate_limit_anonymous=1, redis_socket_timeout=0.5)
    assert httpx.get(f"{base}/api/v1/auth/me").status_code == 401
    assert httpx.get(f"{base}/api/v1/auth/me").status_code == 429
    before = _metric(base, "docket_rate_limiter_errors_total")
    own_redis.stop()
    for _ in range(3):
        response = httpx.get(f"{base}/api/v1/auth/me")
        assert response.status_code == 401, "served, not limited, while Redis is down"
        assert "ratelimit-limit" not in response.headers
    assert _metric(base, "docket_rate_limiter_errors_total") >= before + 3
    assert _metric(base, 'docket_rate_limit_rejections_total{bucket="ip"}') >= 1
