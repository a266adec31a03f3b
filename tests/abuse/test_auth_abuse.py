"""Sign-in under abuse, against a real `docket-api serve` process with real PostgreSQL and Redis.

No single account and no anonymous client may stall, starve or impersonate the others: a burst of
logins stays inside the pod's memory, parallel guesses are all counted, one client spraying
accounts locks none of them out, an IPv6 client cannot take a fresh budget per address, a published
key never signs outside local and test, and a logged-out token stays dead whatever the limiter does.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis
from apikit import PASSWORD, api_process, bearer
from embedded_services import EmbeddedRedis
from servers import cli

from docket_api.domain.auth.login_throttle import account_key
from docket_api.domain.auth.passwords import hashing_slots
from docket_api.settings import DEV_JWT_SECRET
from docket_web.settings import DEV_CSRF_SECRET

MIB = 2**20
POD_MEMORY_LIMIT = 512 * MIB  # the API chart's resources.limits.memory
ANSWER_DEADLINE_SECONDS = 15
PROBLEM = "application/problem+json"
LOGIN = "/api/v1/auth/login"


def _register(base: str, email: str) -> str:
    """Create an account; returns its user id."""
    with httpx.Client(base_url=base, timeout=30) as client:
        created = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


def _login(base: str, email: str, password: str, forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return httpx.post(
        f"{base}{LOGIN}",
        json={"email": email, "password": password},
        headers=headers,
        timeout=ANSWER_DEADLINE_SECONDS,
    )


def _in_parallel(calls: list[Callable[[], httpx.Response]]) -> list[tuple[httpx.Response, float]]:
    """Run every call at once; each answer with the seconds it took."""

    def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        response = call()
        return response, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(timed, calls))


# ---- password hashing: a burst stays inside the pod ----------------------------------------------


@pytest.mark.slow
def test_fifty_concurrent_logins_stay_inside_the_pod_memory_and_are_all_answered(
    clean_db: str, clean_redis: str
) -> None:
    slots = hashing_slots(POD_MEMORY_LIMIT)  # what PASSWORD_HASH_CONCURRENCY=0 gives in that pod
    env = {
        "PASSWORD_HASH_CONCURRENCY": str(slots),
        # a shorter wait than the default 5 s: on a loaded 2-core CI machine one hash can take
        # seconds, and the deadline below is about the server never hanging, not about the queue
        "PASSWORD_HASH_WAIT_SECONDS": "3",
        "LOGIN_MAX_FAILURES": "1000",
        "LOGIN_IP_MAX_FAILURES": "1000",
    }
    with api_process(clean_db, clean_redis, **env) as api:
        _register(api.url, "burst@example.com")
        calls: list[Callable[[], httpx.Response]] = [
            (lambda i=i: _login(api.url, f"ghost-{i}@example.com", "wrong password")) for i in range(40)
        ]
        calls += [(lambda: _login(api.url, "burst@example.com", PASSWORD)) for _ in range(10)]
        answered = _in_parallel(calls)

        statuses = [response.status_code for response, _ in answered]
        assert set(statuses) <= {200, 401, 503}, statuses
        assert statuses.count(200) + statuses.count(401) >= slots, "the slots were used"
        for response, seconds in answered:
            assert seconds < ANSWER_DEADLINE_SECONDS
            if response.status_code == 503:
                assert response.headers["content-type"].startswith(PROBLEM)
                assert response.json()["type"] == "urn:docket:problem:password-hashing-busy"
                assert int(response.headers["retry-after"]) >= 1
        assert api.metric("docket_password_hash_rejections_total") == statuses.count(503)
        peak = api.peak_rss_bytes()
        assert peak < POD_MEMORY_LIMIT, f"peak RSS {peak / MIB:.0f} MiB"
        # and once the burst is over, signing in works again
        assert _login(api.url, "burst@example.com", PASSWORD).status_code == 200


# ---- login throttle: count first, per account and per client -------------------------------------


def test_thirty_parallel_wrong_passwords_for_one_account_are_counted_as_thirty(
    clean_db: str, clean_redis: str
) -> None:
    env = {"LOGIN_MAX_FAILURES": "5", "LOGIN_IP_MAX_FAILURES": "1000", "PASSWORD_HASH_WAIT_SECONDS": "60"}
    with api_process(clean_db, clean_redis, **env) as api:
        user_id = _register(api.url, "target@example.com")
        answered = _in_parallel([lambda: _login(api.url, "target@example.com", "guess") for _ in range(30)])
        statuses = sorted(response.status_code for response, _ in answered)
        assert statuses == [401] * 5 + [429] * 25, "only the first five guesses were ever checked"
        store: Any = redis.Redis.from_url(clean_redis)
        assert int(store.get(account_key(user_id, "target@example.com"))) == 30
        store.close()
        assert api.metric('docket_login_throttle_rejections_total{scope="account"}') == 25
        locked = _login(api.url, "target@example.com", PASSWORD)
        assert locked.status_code == 429
        assert locked.json()["type"] == "urn:docket:problem:login-locked"
        assert int(locked.headers["retry-after"]) > 0


def test_one_client_spraying_accounts_is_stopped_by_its_budget_and_locks_none_out(
    clean_db: str, clean_redis: str
) -> None:
    env = {"LOGIN_MAX_FAILURES": "3", "LOGIN_IP_MAX_FAILURES": "6", "TRUSTED_PROXIES": "127.0.0.1/32"}
    attacker, owner, bystander = "203.0.113.66", "198.51.100.7", "198.51.100.8"
    with api_process(clean_db, clean_redis, **env) as api:
        victims = ["victim-a@example.com", "victim-b@example.com"]
        for email in victims:
            _register(api.url, email)
        spray = [*victims, *victims, "ghost-1@example.com", "ghost-2@example.com"]
        first = [_login(api.url, email, "guess", attacker).status_code for email in spray]
        assert first == [401] * 6
        # over its budget, the client is refused, and its guesses no longer count against the accounts
        for email in victims * 3:
            refused = _login(api.url, email, "guess", attacker)
            assert refused.status_code == 429
            assert refused.json()["type"] == "urn:docket:problem:login-throttled"
            assert int(refused.headers["retry-after"]) > 0
        assert api.metric('docket_login_throttle_rejections_total{scope="client"}') == 6
        for email in victims:
            assert _login(api.url, email, PASSWORD, owner).status_code == 200, f"{email} was locked out"
        assert _login(api.url, victims[0], "typo", bystander).status_code == 401


def test_ipv6_clients_share_one_budget_per_64_in_the_rate_limit_and_the_login_throttle(
    clean_db: str, clean_redis: str
) -> None:
    env = {"RATE_LIMIT_ANONYMOUS": "3", "LOGIN_IP_MAX_FAILURES": "2", "TRUSTED_PROXIES": "127.0.0.1/32"}
    with api_process(clean_db, clean_redis, **env) as api:

        def me(address: str) -> httpx.Response:
            return httpx.get(f"{api.url}/api/v1/auth/me", headers={"X-Forwarded-For": address})

        # the rate limiter: three addresses of one /64 are one client
        assert [me(f"2001:db8:a:1::{n}").status_code for n in (1, 2, 3)] == [401, 401, 401]
        limited = me("2001:db8:a:1:ffff:ffff:ffff:ffff")
        assert limited.status_code == 429
        assert limited.json()["type"] == "urn:docket:problem:rate-limited"
        assert me("2001:db8:a:2::1").status_code == 401, "the next /64 is another client"

        # the login throttle: two failures from one /64 spend its budget
        assert _login(api.url, "nobody-1@example.com", "guess", "2001:db8:b:1::1").status_code == 401
        assert _login(api.url, "nobody-2@example.com", "guess", "2001:db8:b:1::2").status_code == 401
        throttled = _login(api.url, "nobody-3@example.com", "guess", "2001:db8:b:1::3")
        assert throttled.status_code == 429
        assert throttled.json()["type"] == "urn:docket:problem:login-throttled"
        assert _login(api.url, "nobody-3@example.com", "guess", "2001:db8:b:2::1").status_code == 401


# ---- signing keys: the published ones sign only in local and test --------------------------------


@pytest.mark.parametrize(
    ("script", "variable", "value"),
    [
        ("docket-api", "JWT_SECRET", None),
        ("docket-api", "JWT_SECRET", "too-short"),
        ("docket-api", "JWT_SECRET", DEV_JWT_SECRET),
        ("docket-web", "CSRF_SECRET", None),
        ("docket-web", "CSRF_SECRET", DEV_CSRF_SECRET),
    ],
)
def test_staging_without_its_own_signing_key_refuses_to_start_and_names_it(
    script: str, variable: str, value: str | None
) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ENVIRONMENT": "staging", "PORT": "9"}
    if value is not None:
        env[variable] = value
    result = subprocess.run(
        [*cli(script), "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{script}: configuration error: {variable} ")
    assert result.stdout == ""


# ---- the deny-list: a logged-out token stays dead, and Redis down means fail closed ----------------


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis().start()
    yield server
    server.stop()


@pytest.mark.parametrize("rate_limit_enabled", ["false", "true"])
def test_a_logged_out_token_stays_refused_and_with_redis_down_tokens_fail_closed(
    clean_db: str, own_redis: EmbeddedRedis, rate_limit_enabled: str
) -> None:
    env = {
        "RATE_LIMIT_ENABLED": rate_limit_enabled,
        "REDIS_SOCKET_TIMEOUT": "0.5",
        "REDIS_CONNECT_TIMEOUT": "0.5",
    }
    with api_process(clean_db, own_redis.url(), **env) as api:
        me = f"{api.url}/api/v1/auth/me"
        _register(api.url, "leaver@example.com")
        left = _login(api.url, "leaver@example.com", PASSWORD).json()["access_token"]
        stays = _login(api.url, "leaver@example.com", PASSWORD).json()["access_token"]
        assert httpx.get(me, headers=bearer(left)).status_code == 200
        assert httpx.post(f"{api.url}/api/v1/auth/logout", headers=bearer(left)).status_code == 204
        for path in ("/api/v1/auth/me", "/api/v1/documents"):
            refused = httpx.get(f"{api.url}{path}", headers=bearer(left))
            assert refused.status_code == 401, f"a logged-out token still opens {path}"
            assert refused.headers["content-type"].startswith(PROBLEM)

        own_redis.stop()
        unknown = httpx.get(me, headers=bearer(stays), timeout=ANSWER_DEADLINE_SECONDS)
        assert unknown.status_code == 503, "a token whose revocation cannot be checked is not believed"
        assert unknown.headers["content-type"].startswith(PROBLEM)
        assert unknown.json()["type"] == "urn:docket:problem:token-check-unavailable"
        assert int(unknown.headers["retry-after"]) > 0
        assert httpx.get(me, headers=bearer(left), timeout=15).status_code == 503, "nor a revoked one"
        anonymous = httpx.get(me, timeout=ANSWER_DEADLINE_SECONDS)
        assert anonymous.status_code == 401, "anonymous requests are still served"
        assert api.metric("docket_token_revocation_check_failures_total") == 2
        # signing in still works: the throttle fails open, and hashing still bounds the rate
        assert _login(api.url, "leaver@example.com", PASSWORD).status_code == 200
