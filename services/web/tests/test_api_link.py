"""How the web talks to the API: readiness, outages, forwarded addresses and transparent token refresh."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from embedded_services import free_port
from webkit import PASSWORD, Browser, stored_session

Serve = Callable[..., str]


def test_readyz_says_the_api_failed_when_it_is_down_while_healthz_stays_200(serve_web: Serve) -> None:
    web = serve_web(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    health = httpx.get(f"{web.management}/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = httpx.get(f"{web.management}/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not ready", "checks": {"api": "failed", "redis": "ok"}}


def test_readyz_is_200_when_the_api_answers(serve_api: Serve, serve_web: Serve) -> None:
    ready = httpx.get(f"{serve_web(serve_api()).management}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"api": "ok", "redis": "ok"}


def test_pages_that_need_the_api_show_a_friendly_503_while_it_is_down(serve_web: Serve) -> None:
    web = serve_web(f"http://127.0.0.1:{free_port()}")
    with Browser(web) as browser:
        assert browser.get("/signin").status_code == 200, "pages that do not need the API still work"
        response = browser.submit("/signin", "/signin", {"email": "ada@example.com", "password": PASSWORD})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "30"
        assert "Docket is temporarily unavailable" in response.text
        assert "Traceback" not in response.text
        scripted = browser.post(
            "/signin",
            data={"_csrf_token": browser.csrf_token(), "email": "a@example.com", "password": PASSWORD},
            headers={"Accept": "application/json"},
        )
        assert scripted.status_code == 503
        assert scripted.headers["content-type"].startswith("application/problem+json")


def test_an_api_that_hangs_is_a_503_after_the_timeout(serve_web: Serve) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        web = serve_web(f"http://127.0.0.1:{silent.getsockname()[1]}", api_timeout_seconds=0.5)
        with Browser(web) as browser:
            started = time.monotonic()
            response = browser.submit("/signin", "/signin", {"email": "a@example.com", "password": PASSWORD})
            assert response.status_code == 503
            assert time.monotonic() - started < 5


def test_each_end_user_gets_their_own_api_rate_limit_bucket_through_x_forwarded_for(
    serve_api: Serve, serve_web: Serve
) -> None:
    api = serve_api(rate_limit_anonymous=3, rate_limit_window_seconds=60, login_max_failures=100)
    web = serve_web(api)
    wrong = {"email": "nobody@example.com", "password": "not the password"}
    alice, bob = Browser(web, forwarded_for="203.0.113.7"), Browser(web, forwarded_for="198.51.100.9")
    with alice, bob:
        statuses = [alice.submit("/signin", "/signin", wrong).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429], "the API counted alice's sign-ins in her own bucket"
        limited = alice.submit("/signin", "/signin", wrong)
        assert limited.status_code == 429
        assert "Too many requests" in limited.text
        assert "try again in" in limited.text
        assert 0 < int(limited.headers["retry-after"]) <= 60
        assert bob.submit("/signin", "/signin", wrong).status_code == 401, "bob has a bucket of his own"


def test_x_forwarded_for_from_an_untrusted_peer_is_not_believed(serve_api: Serve, serve_web: Serve) -> None:
    api = serve_api(rate_limit_anonymous=2, rate_limit_window_seconds=60, login_max_failures=100)
    web = serve_web(api, trusted_proxies=[])  # the web trusts no proxy: the peer is the end user
    wrong = {"email": "nobody@example.com", "password": "not the password"}
    statuses = []
    for i in range(3):
        with Browser(web, forwarded_for=f"203.0.113.{i}") as spoofer:
            statuses.append(spoofer.submit("/signin", "/signin", wrong).status_code)
    assert statuses == [401, 401, 429], "a made-up address must not buy a fresh bucket"


def test_an_expired_access_token_is_refreshed_transparently(
    serve_api: Serve, serve_web: Serve, clean_redis: str
) -> None:
    # long enough that a token refreshed just before a request cannot expire on its way to the API on a
    # loaded machine (a streamed upload cannot be sent again after a 401), short enough to wait out
    ttl = 4
    web = serve_web(serve_api(access_token_ttl_seconds=ttl))
    with Browser(web) as browser:
        browser.sign_up()
        first = stored_session(clean_redis, browser.session_cookie())
        assert first is not None
        time.sleep(ttl + 1.1)  # the access token has expired
        listing = browser.get("/documents")
        assert listing.status_code == 200, listing.headers.get("location")
        assert "Your documents" in listing.text
        second = stored_session(clean_redis, browser.session_cookie())
        assert second is not None
        assert second["access_token"] != first["access_token"]
        assert second["refresh_token"] != first["refresh_token"], "refresh tokens rotate"
        time.sleep(ttl + 1.1)
        uploaded = browser.upload(("ttl.txt", b"uploaded with an expired access token"))  # a multipart retry
        assert uploaded.status_code == 200
        assert "Uploaded." in uploaded.text
        time.sleep(ttl + 1.1)
        scripted = browser.upload_streamed("ttl2.txt", b"streamed with an expired access token")
        assert scripted.status_code == 201, scripted.text


def test_parallel_requests_with_an_expired_token_refresh_it_once_and_keep_the_session(
    serve_api: Serve, serve_web: Serve, clean_redis: str
) -> None:
    web = serve_web(serve_api(access_token_ttl_seconds=1))
    with Browser(web) as browser:
        browser.sign_up()
        cookie = browser.session_cookie()
        time.sleep(2.1)

        def fetch(path: str) -> int:
            with httpx.Client(base_url=web, cookies={"docket_session": cookie}) as client:
                return client.get(path).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(fetch, ["/documents", "/upload", "/search?q=x", "/documents"] * 2))
        assert statuses == [200] * 8, "a refresh token spent twice would revoke the whole login"
        assert browser.get("/documents").status_code == 200


def test_sign_out_ends_the_session_and_revokes_the_refresh_token(
    serve_api: Serve, serve_web: Serve, clean_redis: str
) -> None:
    api = serve_api()
    with Browser(serve_web(api)) as browser:
        browser.sign_up()
        cookie = browser.session_cookie()
        session = stored_session(clean_redis, cookie)
        assert session is not None
        response = browser.post("/signout", data={"_csrf_token": browser.csrf_token("/documents")})
        assert response.status_code == 303
        assert response.headers["location"] == "/signin?notice=signed-out"
        assert "max-age=0" in response.headers["set-cookie"].lower()
        assert stored_session(clean_redis, cookie) is None
        with httpx.Client(base_url=str(browser.base_url), cookies={"docket_session": cookie}) as replay:
            assert replay.get("/documents").status_code == 303, "the old cookie no longer works"
        refused = httpx.post(f"{api}/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
        assert refused.status_code == 401, "the API revoked the login too"
        assert "You have signed out." in browser.get("/signin?notice=signed-out").text
