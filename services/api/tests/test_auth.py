"""Auth: registration, login, token rotation and revocation, and every way a token can be bad."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import httpx
import jwt
import pytest
from apikit import PASSWORD, TEST_SECRET, bearer, register_and_login

from docket_api.domain.auth.tokens import InvalidTokenError, TokenCodec, key_id

PROBLEM = "application/problem+json"


def _codec(secret: str = TEST_SECRET, previous: str = "", ttl: int = 900) -> TokenCodec:
    return TokenCodec(secret, previous, "docket", "docket-api", ttl)


def test_register_login_and_me_round_trip(api: httpx.Client) -> None:
    tokens = register_and_login(api)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    me = api.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    claims = jwt.decode(tokens["access_token"], TEST_SECRET, algorithms=["HS256"], audience="docket-api")
    assert set(claims) >= {"sub", "exp", "iat", "iss", "aud", "jti"}
    assert claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(tokens["access_token"])["kid"] == key_id(TEST_SECRET)


def test_short_password_is_rejected_with_the_field_named(api: httpx.Client) -> None:
    response = api.post("/api/v1/auth/register", json={"email": "a@example.com", "password": "short"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert any("password" in error["field"] or "password" in error["message"] for error in body["errors"])


def test_duplicate_email_is_409_case_insensitively(api: httpx.Client) -> None:
    register_and_login(api, "grace@example.com")
    again = api.post("/api/v1/auth/register", json={"email": "GRACE@example.com", "password": PASSWORD})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM)


def test_wrong_password_is_401_and_five_failures_lock_the_account(api: httpx.Client) -> None:
    register_and_login(api)
    for _ in range(5):
        wrong = api.post(
            "/api/v1/auth/login", json={"email": "ada@example.com", "password": "not the password"}
        )
        assert wrong.status_code == 401
    locked = api.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert locked.json()["type"].endswith("login-locked")


def test_refresh_rotates_and_reuse_revokes_the_whole_family(api: httpx.Client) -> None:
    first = register_and_login(api)
    second = api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    # the old token comes back: an attacker has a copy, so the family dies
    reuse = api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert "already used" in reuse.json()["detail"]
    after = api.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401


def test_unknown_refresh_token_is_401(api: httpx.Client) -> None:
    response = api.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 43})
    assert response.status_code == 401


def test_logout_revokes_the_refresh_family_and_the_access_token(api: httpx.Client) -> None:
    tokens = register_and_login(api)
    out = api.post(
        "/api/v1/auth/logout",
        json={"refresh_token": tokens["refresh_token"]},
        headers=bearer(tokens["access_token"]),
    )
    assert out.status_code == 204
    assert api.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert (
        api.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    )


def test_me_without_a_token_is_401_with_www_authenticate(api: httpx.Client) -> None:
    response = api.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith(PROBLEM)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_bad_tokens_are_all_401(api: httpx.Client) -> None:
    tokens = register_and_login(api)
    user_id = api.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).json()["id"]
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 600, "iss": "docket", "aud": "docket-api", "jti": "j"}
    kid = key_id(TEST_SECRET)
    cases = {
        "malformed": "not.a.jwt",
        "garbage": "abc",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}.",
        "expired": jwt.encode(
            {**claims, "iat": now - 2000, "exp": now - 1000},
            TEST_SECRET,
            algorithm="HS256",
            headers={"kid": kid},
        ),
        "wrong audience": jwt.encode(
            {**claims, "aud": "someone-else"}, TEST_SECRET, algorithm="HS256", headers={"kid": kid}
        ),
        "wrong issuer": jwt.encode(
            {**claims, "iss": "evil"}, TEST_SECRET, algorithm="HS256", headers={"kid": kid}
        ),
        "wrong key": jwt.encode(claims, "x" * 40, algorithm="HS256", headers={"kid": kid}),
        "HS512": jwt.encode(claims, TEST_SECRET * 2, algorithm="HS512", headers={"kid": kid}),
        "missing jti": jwt.encode(
            {k: v for k, v in claims.items() if k != "jti"},
            TEST_SECRET,
            algorithm="HS256",
            headers={"kid": kid},
        ),
    }
    for name, token in cases.items():
        response = api.get("/api/v1/auth/me", headers=bearer(token))
        assert response.status_code == 401, name
    good = jwt.encode(claims, TEST_SECRET, algorithm="HS256", headers={"kid": kid})
    assert api.get("/api/v1/auth/me", headers=bearer(good)).status_code == 200


def test_key_rotation_accepts_previous_key_until_it_is_dropped(serve_api: Callable[..., str]) -> None:
    old_secret, new_secret = "old-secret-" + "o" * 30, "new-secret-" + "n" * 30
    before = serve_api(jwt_secret=old_secret)
    with httpx.Client(base_url=before) as client:
        old_token = register_and_login(client)["access_token"]
    during = serve_api(jwt_secret=new_secret, jwt_secret_previous=old_secret)
    with httpx.Client(base_url=during) as client:
        assert client.get("/api/v1/auth/me", headers=bearer(old_token)).status_code == 200
        new_token = client.post(
            "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
        ).json()["access_token"]
        assert jwt.get_unverified_header(new_token)["kid"] == key_id(new_secret)
    after = serve_api(jwt_secret=new_secret)
    with httpx.Client(base_url=after) as client:
        assert client.get("/api/v1/auth/me", headers=bearer(old_token)).status_code == 401
        assert client.get("/api/v1/auth/me", headers=bearer(new_token)).status_code == 200


def test_codec_rejects_a_token_signed_with_an_rs_public_key_as_hmac_secret() -> None:
    codec = _codec()
    forged = jwt.encode(
        {"sub": "x"},
        "public-key-pem-used-as-a-shared-secret-0123456789",
        algorithm="HS256",
        headers={"kid": "other"},
    )
    with pytest.raises(InvalidTokenError, match="unknown signing key"):
        codec.verify(forged)


def test_a_cached_verification_still_expires_with_the_token() -> None:
    codec = _codec(ttl=1)
    token = codec.issue("user-1")
    assert codec.verify(token).user_id == "user-1"
    assert codec.verify(token).user_id == "user-1"  # answered from the cache
    time.sleep(1.1)
    with pytest.raises(InvalidTokenError, match="expired"):
        codec.verify(token)


def test_case_variants_of_an_email_count_against_one_account(api: httpx.Client) -> None:
    register_and_login(api, "mixed.case@example.com")
    variants = ["Mixed.Case@example.com", "MIXED.CASE@EXAMPLE.COM", "mixed.case@Example.com"]
    for i in range(5):
        wrong = api.post("/api/v1/auth/login", json={"email": variants[i % 3], "password": "not it at all"})
        assert wrong.status_code == 401
    locked = api.post("/api/v1/auth/login", json={"email": "mixed.case@example.com", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["type"].endswith("login-locked")


def test_unknown_addresses_are_throttled_on_the_databases_normalisation(api: httpx.Client) -> None:
    variants = ["Nobody@Example.com", "NOBODY@example.com", "nobody@EXAMPLE.COM"]
    statuses = [
        api.post("/api/v1/auth/login", json={"email": variants[i % 3], "password": "guess"}).status_code
        for i in range(6)
    ]
    assert statuses == [401] * 5 + [429], "unknown accounts lock like real ones, so 429 reveals nothing"


def test_a_successful_login_clears_the_accounts_failures(api: httpx.Client) -> None:
    register_and_login(api)
    for _ in range(2):
        for _ in range(4):
            api.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "not the password"})
        ok = api.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        assert ok.status_code == 200, "four failures, then a success: the count starts again"
