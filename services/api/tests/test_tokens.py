"""Personal access tokens over real HTTP: scopes, expiry, revocation, the owner's current role,
one workspace, rate limiting as the owner, and flooding."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx
import psycopg
import pytest
from apikit import bearer
from teamkit import Person, create_workspace, join, person, personal_token, upload


def test_the_secret_is_shown_once_has_the_dkt_prefix_and_only_its_sha256_is_stored(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    created = personal_token(api, ada, ["documents:read"])
    assert created["token"].startswith("dkt_")
    assert len(created["token"]) >= 40
    listed = api.get("/api/v1/tokens", headers=ada.headers).json()
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]
    with psycopg.connect(clean_db) as conn:
        row = conn.execute("SELECT token_hash FROM api_tokens").fetchone()
    assert row is not None
    assert bytes(row[0]) == hashlib.sha256(created["token"].encode()).digest()


def test_a_read_token_lists_but_cannot_upload_and_records_its_last_use(
    api: httpx.Client, ada: Person
) -> None:
    upload(api, ada, None, b"listed by a script")
    token = bearer(personal_token(api, ada, ["documents:read"])["token"])
    listed = api.get("/api/v1/documents", headers=token)
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 1
    refused = api.post("/api/v1/documents", files={"file": ("a.txt", b"nope", "text/plain")}, headers=token)
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:docket:problem:insufficient-scope"
    assert api.get("/api/v1/tokens", headers=ada.headers).json()[0]["last_used_at"] is not None
    assert len(api.get("/api/v1/documents", headers=ada.headers).json()["items"]) == 1


def test_an_expired_or_revoked_token_is_refused(api: httpx.Client, ada: Person, clean_db: str) -> None:
    expired = personal_token(api, ada, ["documents:read"])
    revoked = personal_token(api, ada, ["documents:read"])
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = %s", (expired["id"],)
        )
    assert api.get("/api/v1/documents", headers=bearer(expired["token"])).status_code == 401
    assert api.get("/api/v1/documents", headers=bearer(revoked["token"])).status_code == 200
    assert api.delete(f"/api/v1/tokens/{revoked['id']}", headers=ada.headers).status_code == 204
    assert api.get("/api/v1/documents", headers=bearer(revoked["token"])).status_code == 401


def test_a_removed_members_token_stops_working_for_that_workspace_at_once(
    api: httpx.Client, ada: Person
) -> None:
    bob = person(api, "bob@example.com")
    team = create_workspace(api, ada)
    join(api, ada, bob, team, "editor")
    token = bearer(personal_token(api, bob, ["documents:read", "documents:write"])["token"])
    assert api.get("/api/v1/documents", params={"workspace_id": team}, headers=token).status_code == 200
    assert api.delete(f"/api/v1/workspaces/{team}/members/{bob.id}", headers=ada.headers).status_code == 204
    assert api.get("/api/v1/documents", params={"workspace_id": team}, headers=token).status_code == 404
    assert api.get("/api/v1/documents", headers=token).status_code == 200, (
        "still good for bob's own workspace"
    )


def test_a_token_never_grants_more_than_the_owners_current_role(api: httpx.Client, ada: Person) -> None:
    bob = person(api, "bob@example.com")
    team = create_workspace(api, ada)
    join(api, ada, bob, team, "editor")
    token = bearer(
        personal_token(api, bob, ["documents:read", "documents:write", "workspaces:admin"])["token"]
    )
    assert upload(api, Person("", bob.id, token, ""), team, b"as editor").status_code == 201
    demoted = api.patch(
        f"/api/v1/workspaces/{team}/members/{bob.id}", json={"role": "viewer"}, headers=ada.headers
    )
    assert demoted.status_code == 200
    assert upload(api, Person("", bob.id, token, ""), team, b"as viewer").status_code == 403
    assert api.post(f"/api/v1/workspaces/{team}/invitations", json={}, headers=token).status_code == 403


def test_a_token_limited_to_one_workspace_reaches_no_other(api: httpx.Client, ada: Person) -> None:
    team = create_workspace(api, ada)
    upload(api, ada, None, b"personal")
    upload(api, ada, team, b"team")
    token = bearer(
        personal_token(api, ada, ["documents:read", "documents:write"], workspace_id=team)["token"]
    )
    listed = api.get("/api/v1/documents", headers=token).json()["items"]
    assert [d["workspace_id"] for d in listed] == [team]
    assert (
        api.get("/api/v1/documents", params={"workspace_id": ada.personal}, headers=token).status_code == 404
    )
    assert [w["id"] for w in api.get("/api/v1/workspaces", headers=token).json()] == [team]
    sent = api.post("/api/v1/documents", files={"file": ("a.txt", b"default", "text/plain")}, headers=token)
    assert sent.status_code == 201
    assert sent.json()["workspace_id"] == team, "a limited token uploads into its workspace by default"


def test_tokens_cannot_manage_tokens_accept_invitations_or_log_out(api: httpx.Client, ada: Person) -> None:
    token = bearer(
        personal_token(api, ada, ["documents:read", "documents:write", "workspaces:admin"])["token"]
    )
    assert (
        api.post(
            "/api/v1/tokens", json={"name": "x", "scopes": ["documents:read"]}, headers=token
        ).status_code
        == 403
    )
    assert api.get("/api/v1/tokens", headers=token).status_code == 403
    assert api.post(f"/api/v1/invitations/{'a' * 43}/accept", headers=token).status_code == 403
    assert api.post("/api/v1/auth/logout", headers=token).status_code == 403
    assert api.get("/api/v1/auth/me", headers=ada.headers).status_code == 200, (
        "the session was not logged out"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": ["documents:read"], "expires_in_days": 366},
        {"name": "x", "scopes": ["documents:delete"]},
        {"name": "x", "scopes": []},
        {"name": "", "scopes": ["documents:read"]},
    ],
)
def test_bad_token_requests_are_422(api: httpx.Client, ada: Person, body: dict[str, object]) -> None:
    refused = api.post("/api/v1/tokens", json=body, headers=ada.headers)
    assert refused.status_code == 422
    assert api.get("/api/v1/tokens", headers=ada.headers).json() == []


def test_a_token_for_a_workspace_the_user_is_not_in_is_404(api: httpx.Client, ada: Person) -> None:
    bob = person(api, "bob@example.com")
    created = api.post(
        "/api/v1/tokens",
        json={"name": "x", "scopes": ["documents:read"], "workspace_id": bob.personal},
        headers=ada.headers,
    )
    assert created.status_code == 404
    other = personal_token(api, bob, ["documents:read"])
    assert api.delete(f"/api/v1/tokens/{other['id']}", headers=ada.headers).status_code == 404
    assert api.get("/api/v1/documents", headers=bearer(other["token"])).status_code == 200


def test_one_account_cannot_flood_tokens(
    api: httpx.Client, ada: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docket_api.domain.tokens import service

    monkeypatch.setattr(service, "MAX_TOKENS", 2)
    personal_token(api, ada, ["documents:read"])
    second = personal_token(api, ada, ["documents:read"])
    third = api.post("/api/v1/tokens", json={"name": "x", "scopes": ["documents:read"]}, headers=ada.headers)
    assert third.status_code == 403
    assert third.json()["type"] == "urn:docket:problem:quota-tokens"
    api.delete(f"/api/v1/tokens/{second['id']}", headers=ada.headers)
    personal_token(api, ada, ["documents:read"])


def test_a_token_is_rate_limited_as_its_owner(serve_api: Callable[..., str]) -> None:
    with httpx.Client(base_url=serve_api(rate_limit_user=8), timeout=10) as api:
        ada = person(api, "ada@example.com")  # me + workspaces: 2 requests of the owner's budget
        token = bearer(personal_token(api, ada, ["documents:read"])["token"])  # 3
        answers = [api.get("/api/v1/documents", headers=token).status_code for _ in range(4)]  # 4-7
        assert answers == [200] * 4
        assert api.get("/api/v1/auth/me", headers=ada.headers).status_code == 200  # 8
        assert api.get("/api/v1/documents", headers=token).status_code == 429
        assert api.get("/api/v1/auth/me", headers=ada.headers).status_code == 429


def test_with_the_database_down_a_token_is_refused_with_503_not_let_through(
    serve_api: Callable[..., str], clean_db: str
) -> None:
    base = serve_api()
    with httpx.Client(base_url=base, timeout=30) as api:
        ada = person(api, "ada@example.com")
        token = personal_token(api, ada, ["documents:read"])["token"]
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute("ALTER TABLE api_tokens RENAME TO api_tokens_away")
        try:
            refused = api.get("/api/v1/documents", headers=bearer(token))
        finally:
            with psycopg.connect(clean_db, autocommit=True) as conn:
                conn.execute("ALTER TABLE api_tokens_away RENAME TO api_tokens")
        assert refused.status_code == 503
        assert refused.headers["content-type"].startswith("application/problem+json")
