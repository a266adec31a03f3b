"""CSRF, cookies, headers, scripts and tokens: what the web must never get wrong, over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookies import SimpleCookie

import httpx
from webkit import PASSWORD, Browser, stored_session

from docket_web.app import WEB_CSP

SCRIPT_WITH_BODY = re.compile(r"<script\b[^>]*>(?!\s*</script>)", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
HASHED_ASSET = re.compile(r'(?:href|src)="(/static/([a-z0-9_-]+)\.([0-9a-f]{12})\.(css|js|svg))"')


def _cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header of the response, by cookie name."""
    found: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        found[header.split("=", 1)[0]] = header
    return found


def test_a_form_post_without_a_csrf_token_is_rejected_with_403(stack: Browser) -> None:
    stack.get("/signin")  # the CSRF cookie is set, but the form below leaves the token out
    response = stack.post("/signin", data={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert response.headers["content-type"].startswith("text/html")

    forged = stack.post("/signin", data={"email": "a@example.com", "password": "x", "_csrf_token": "0" * 128})
    assert forged.status_code == 403

    with Browser(str(stack.base_url)) as stranger:  # no CSRF cookie at all, as in a cross-site post
        assert (
            stranger.post("/signup", data={"email": "x@example.com", "password": PASSWORD}).status_code == 403
        )


def test_the_upload_and_sign_out_need_the_token_too(stack: Browser) -> None:
    stack.sign_up()
    upload = stack.post("/upload", files={"file": ("a.txt", b"no token here")})
    assert upload.status_code == 403
    scripted = stack.post("/upload", files={"file": ("a.txt", b"bad")}, headers={"X-CSRFToken": "nope"})
    assert scripted.status_code == 403
    assert stack.post("/signout").status_code == 403
    assert stack.get("/documents").status_code == 200, "still signed in"


def test_no_page_has_an_inline_script_or_style_and_none_shows_the_api_tokens(
    stack: Browser, clean_redis: str
) -> None:
    pages = [stack.get("/"), stack.get("/signin"), stack.get("/signup"), stack.sign_up()]
    session = stored_session(clean_redis, stack.session_cookie())
    assert session is not None
    secrets = [session["access_token"], session["refresh_token"]]
    uploaded = stack.upload(("notes.txt", b"The okapi is shy."))
    doc_id = re.search(r'href="/documents/([0-9a-f-]{36})"', uploaded.text)
    assert doc_id
    pages += [
        uploaded,
        stack.get("/documents"),
        stack.get("/upload"),
        stack.get(f"/documents/{doc_id.group(1)}"),
        stack.get(f"/documents/{doc_id.group(1)}/delete"),
        stack.get("/search?q=okapi"),
        stack.get("/search"),
        stack.get("/no/such/page"),
    ]
    for response in pages:
        where = f"{response.request.method} {response.request.url.path}"
        body = response.text
        assert not SCRIPT_WITH_BODY.search(body), f"inline script on {where}"
        assert not INLINE_HANDLER.search(body), f"inline event handler on {where}"
        assert not STYLE_ATTRIBUTE.search(body), f"style attribute on {where}"
        assert "<style" not in body.lower(), f"style element on {where}"
        for secret in secrets:
            assert secret not in body, f"an API token in the page {where}"
            assert all(secret not in value for value in response.headers.values()), f"a token in {where}"
        for cookie in response.headers.get_list("set-cookie"):
            assert "ey" not in cookie.split(";")[0].split("=", 1)[1][:2], "a JWT in a cookie"
    assert stack.session_cookie() not in secrets


def test_session_cookie_is_httponly_and_samesite_lax_and_not_secure_in_test(stack: Browser) -> None:
    signed_up = stack.sign_up()
    cookie = _cookies(signed_up)["docket_session"]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes, "local and test run over plain HTTP"
    assert any(part.startswith("max-age=") for part in attributes)
    csrf = _cookies(stack.get("/signin", headers={"Cookie": ""}))
    assert "csrftoken" in csrf
    assert "samesite=lax" in csrf["csrftoken"].lower()


def test_outside_local_and_test_cookies_are_secure_and_host_prefixed(
    serve_api: Callable[..., str], serve_web: Callable[..., str]
) -> None:
    web = serve_web(serve_api(), environment="staging", csrf_secret="staging-csrf-key-" + "k" * 32)
    with Browser(web) as browser:
        form = browser.get("/signup")
        csrf = _cookies(form)["__Host-csrftoken"]
        assert "secure" in csrf.lower()
        token = re.search(r'name="csrf-token" content="([^"]+)"', form.text)
        assert token
        # httpx, like a browser, keeps Secure cookies off plain HTTP, so send the token cookie by hand
        signed_up = browser.post(
            "/signup",
            data={"_csrf_token": token.group(1), "email": "sec@example.com", "password": PASSWORD},
            headers={"Cookie": f"__Host-csrftoken={token.group(1)}"},
        )
        assert signed_up.status_code == 303
        session = SimpleCookie(_cookies(signed_up)["__Host-docket_session"])["__Host-docket_session"]
        assert session["secure"]
        assert session["httponly"]
        assert session["samesite"].lower() == "lax"
        assert session["path"] == "/"
        assert not session["domain"], "a __Host- cookie must not name a domain"


def test_every_page_has_the_strict_csp_and_the_apis_security_headers(stack: Browser) -> None:
    for response in (stack.get("/"), stack.get("/signin"), stack.get("/missing"), stack.get("/healthz")):
        headers = response.headers
        assert headers["content-security-policy"] == WEB_CSP
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["strict-transport-security"].startswith("max-age=")
        assert headers["cross-origin-opener-policy"] == "same-origin"
        assert "x-request-id" in headers
        if headers["content-type"].startswith("text/html"):
            assert headers["cache-control"] == "no-store", "a user's pages must not be cached"
    for directive in ("script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "style-src 'self'"):
        assert directive in WEB_CSP
    assert "unsafe-inline" not in WEB_CSP
    assert "unsafe-eval" not in WEB_CSP


def test_static_assets_have_hashed_names_and_immutable_cache_headers(stack: Browser) -> None:
    page = stack.get("/")
    assets = HASHED_ASSET.findall(page.text)
    kinds = {extension for *_, extension in assets}
    assert {"css", "js", "svg"} <= kinds, assets
    for url, _name, _digest, extension in assets:
        response = stack.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "set-cookie" not in response.headers, "a cacheable asset must not set cookies"
        expected = {"css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}[extension]
        assert response.headers["content-type"].startswith(expected)
        assert stack.get(url, headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    assert stack.get("/static/app.css").status_code == 404, "only hashed names are served"
    assert stack.get("/static/app.000000000000.css").status_code == 404


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(stack: Browser) -> None:
    stack.sign_up()
    stack.post("/signout", data={"_csrf_token": stack.csrf_token("/documents")})
    bounced = stack.get("/documents?status=ready")
    assert bounced.status_code == 303
    assert bounced.headers["location"] == "/signin?next=%2Fdocuments%3Fstatus%3Dready"
    back = stack.submit(
        "/signin",
        "/signin",
        {"email": "ada@example.com", "password": PASSWORD, "next": "/documents?status=ready"},
    )
    assert back.headers["location"] == "/documents?status=ready"
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/x\r\nSet-Cookie: a=b"):
        response = stack.submit(
            "/signin", "/signin", {"email": "ada@example.com", "password": PASSWORD, "next": hostile}
        )
        assert response.headers["location"] == "/documents", hostile


def test_wrong_credentials_show_an_error_next_to_the_form(stack: Browser) -> None:
    stack.sign_up()
    stack.cookies.clear()
    response = stack.submit("/signin", "/signin", {"email": "ada@example.com", "password": "wrong password"})
    assert response.status_code == 401
    assert "The email or password is not right" in response.text
    assert 'value="ada@example.com"' in response.text
    short = stack.submit("/signup", "/signup", {"email": "bob@example.com", "password": "short"})
    assert short.status_code == 400
    assert 'aria-invalid="true"' in short.text
    assert "at least 10 characters" in short.text
    taken = stack.submit("/signup", "/signup", {"email": "ada@example.com", "password": PASSWORD})
    assert "already exists" in taken.text
