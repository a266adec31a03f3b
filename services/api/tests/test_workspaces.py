"""Workspaces over real HTTP: roles, invitations, sharing documents, tags, and what a hostile member
or stranger can and cannot do."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest
from apikit import bearer
from teamkit import Person, create_workspace, invite, join, person, upload

PROBLEM = "application/problem+json"


def _status(api: httpx.Client, who: Person, method: str, url: str, **kwargs: object) -> int:
    return api.request(method, url, headers=who.headers, **kwargs).status_code  # type: ignore[arg-type]


def test_registration_creates_a_personal_workspace_owned_by_the_user(api: httpx.Client, ada: Person) -> None:
    workspaces = api.get("/api/v1/workspaces", headers=ada.headers).json()
    assert [(w["name"], w["personal"], w["role"]) for w in workspaces] == [("Personal", True, "owner")]
    created = upload(api, ada, None, b"personal words")
    assert created.status_code == 201
    assert created.json()["workspace_id"] == ada.personal


def test_a_viewer_reads_and_downloads_but_cannot_upload_or_delete_until_promoted(
    api: httpx.Client, ada: Person, bob: Person
) -> None:
    team = create_workspace(api, ada)
    doc = upload(api, ada, team, b"the budget was approved").json()["id"]
    join(api, ada, bob, team, "viewer")
    listed = api.get("/api/v1/documents", params={"workspace_id": team}, headers=bob.headers).json()
    assert [d["id"] for d in listed["items"]] == [doc]
    assert (
        api.get(f"/api/v1/documents/{doc}/content", headers=bob.headers).content == b"the budget was approved"
    )
    refused = api.delete(f"/api/v1/documents/{doc}", headers=bob.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert upload(api, bob, team, b"bob's words").status_code == 403
    promoted = api.patch(
        f"/api/v1/workspaces/{team}/members/{bob.id}", json={"role": "editor"}, headers=ada.headers
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "editor"
    assert api.delete(f"/api/v1/documents/{doc}", headers=bob.headers).status_code == 204


def test_a_stranger_gets_404_for_a_workspace_and_its_documents_exactly_as_for_nothing(
    api: httpx.Client, ada: Person, bob: Person
) -> None:
    team = create_workspace(api, ada)
    doc = upload(api, ada, team, b"secret plans").json()["id"]
    for url in (
        f"/api/v1/workspaces/{team}",
        f"/api/v1/workspaces/{team}/members",
        f"/api/v1/documents/{doc}",
        f"/api/v1/documents/{doc}/content",
        f"/api/v1/workspaces/{team}/tags",
    ):
        real = api.get(url, headers=bob.headers)
        fake = api.get(
            url.replace(team, str(uuid.uuid4())).replace(doc, str(uuid.uuid4())), headers=bob.headers
        )
        assert real.status_code == fake.status_code == 404, url
        assert real.json()["type"] == fake.json()["type"]
    assert upload(api, bob, team, b"planted").status_code == 404
    assert api.get("/api/v1/search", params={"q": "plans"}, headers=bob.headers).json()["items"] == []
    assert (
        api.get(
            "/api/v1/search", params={"q": "plans", "workspace_id": team}, headers=bob.headers
        ).status_code
        == 404
    )


def test_an_invitation_works_once_and_a_revoked_or_expired_one_never(
    api: httpx.Client, ada: Person, bob: Person, clean_db: str
) -> None:
    team = create_workspace(api, ada)
    carol = person(api, "carol@example.com")
    token = invite(api, ada, team, "editor")["token"]
    assert api.post(f"/api/v1/invitations/{token}/accept", headers=bob.headers).status_code == 201
    again = api.post(f"/api/v1/invitations/{token}/accept", headers=carol.headers)
    assert again.status_code == 404
    revoked = invite(api, ada, team)
    assert (
        api.delete(f"/api/v1/workspaces/{team}/invitations/{revoked['id']}", headers=ada.headers).status_code
        == 204
    )
    assert (
        api.post(f"/api/v1/invitations/{revoked['token']}/accept", headers=carol.headers).status_code == 404
    )
    expired = invite(api, ada, team)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = %s", (expired["id"],)
        )
    assert (
        api.post(f"/api/v1/invitations/{expired['token']}/accept", headers=carol.headers).status_code == 404
    )
    members = api.get(f"/api/v1/workspaces/{team}/members", headers=ada.headers).json()
    assert sorted((m["email"], m["role"]) for m in members) == [
        ("ada@example.com", "owner"),
        ("bob@example.com", "editor"),
    ]
    with psycopg.connect(clean_db) as conn:
        stored = conn.execute("SELECT token_hash FROM invitations WHERE id = %s", (expired["id"],)).fetchone()
    assert stored is not None
    assert expired["token"].encode() not in bytes(stored[0]), "only the hash is stored"


def test_an_admin_never_grants_above_their_own_role_nor_touches_the_owner(
    api: httpx.Client, ada: Person, bob: Person
) -> None:
    team = create_workspace(api, ada)
    join(api, ada, bob, team, "admin")
    carol = person(api, "carol@example.com")
    join(api, bob, carol, team, "viewer")
    assert (
        _status(api, bob, "PATCH", f"/api/v1/workspaces/{team}/members/{carol.id}", json={"role": "admin"})
        == 200
    )
    assert (
        _status(api, bob, "PATCH", f"/api/v1/workspaces/{team}/members/{carol.id}", json={"role": "owner"})
        == 422
    )
    assert (
        _status(api, bob, "PATCH", f"/api/v1/workspaces/{team}/members/{ada.id}", json={"role": "viewer"})
        == 403
    )
    assert _status(api, bob, "DELETE", f"/api/v1/workspaces/{team}/members/{ada.id}") == 409
    assert _status(api, bob, "POST", f"/api/v1/workspaces/{team}/invitations", json={"role": "owner"}) == 422
    assert _status(api, carol, "DELETE", f"/api/v1/workspaces/{team}") == 403
    roles = {
        m["email"]: m["role"]
        for m in api.get(f"/api/v1/workspaces/{team}/members", headers=ada.headers).json()
    }
    assert roles == {"ada@example.com": "owner", "bob@example.com": "admin", "carol@example.com": "admin"}


def test_an_editor_cannot_promote_themself_and_a_viewer_cannot_invite(
    api: httpx.Client, ada: Person, bob: Person
) -> None:
    team = create_workspace(api, ada)
    join(api, ada, bob, team, "editor")
    assert (
        _status(api, bob, "PATCH", f"/api/v1/workspaces/{team}/members/{bob.id}", json={"role": "admin"})
        == 403
    )
    assert _status(api, bob, "POST", f"/api/v1/workspaces/{team}/invitations", json={"role": "viewer"}) == 403
    roles = {
        m["email"]: m["role"]
        for m in api.get(f"/api/v1/workspaces/{team}/members", headers=ada.headers).json()
    }
    assert roles["bob@example.com"] == "editor"


def test_the_owner_cannot_leave_until_ownership_is_transferred(
    api: httpx.Client, ada: Person, bob: Person
) -> None:
    team = create_workspace(api, ada)
    join(api, ada, bob, team, "viewer")
    left = api.delete(f"/api/v1/workspaces/{team}/members/{ada.id}", headers=ada.headers)
    assert left.status_code == 409
    transferred = api.patch(f"/api/v1/workspaces/{team}", json={"owner_id": bob.id}, headers=ada.headers)
    assert transferred.status_code == 200
    assert transferred.json()["role"] == "admin"
    assert api.delete(f"/api/v1/workspaces/{team}/members/{ada.id}", headers=ada.headers).status_code == 204
    assert api.get(f"/api/v1/workspaces/{team}", headers=bob.headers).json()["role"] == "owner"
    assert api.get(f"/api/v1/workspaces/{team}", headers=ada.headers).status_code == 404


def test_ownership_goes_only_to_a_member_and_a_stranger_is_a_409(
    api: httpx.Client, ada: Person, bob: Person
) -> None:
    team = create_workspace(api, ada)
    refused = api.patch(f"/api/v1/workspaces/{team}", json={"owner_id": bob.id}, headers=ada.headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("owner-not-a-member")
    assert api.get(f"/api/v1/workspaces/{team}", headers=ada.headers).json()["role"] == "owner"
    assert api.get(f"/api/v1/workspaces/{team}", headers=bob.headers).status_code == 404


def test_a_personal_workspace_cannot_be_shared_deleted_or_given_away(
    api: httpx.Client, ada: Person, bob: Person
) -> None:
    assert _status(api, ada, "POST", f"/api/v1/workspaces/{ada.personal}/invitations", json={}) == 409
    assert _status(api, ada, "DELETE", f"/api/v1/workspaces/{ada.personal}") == 409
    assert _status(api, ada, "PATCH", f"/api/v1/workspaces/{ada.personal}", json={"owner_id": bob.id}) == 409


def test_deleting_a_workspace_deletes_its_documents_and_queues_their_purge(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    team = create_workspace(api, ada)
    upload(api, ada, team, b"one")
    upload(api, ada, team, b"two")
    assert api.delete(f"/api/v1/workspaces/{team}", headers=ada.headers).status_code == 204
    with psycopg.connect(clean_db) as conn:
        left = conn.execute("SELECT count(*) FROM documents").fetchone()
        purges = conn.execute("SELECT count(*) FROM jobs WHERE kind = 'purge_document'").fetchone()
    assert left == (0,)
    assert purges == (2,)


def test_duplicates_are_per_workspace(api: httpx.Client, ada: Person) -> None:
    team = create_workspace(api, ada)
    assert upload(api, ada, None, b"same bytes").status_code == 201
    assert upload(api, ada, team, b"same bytes").status_code == 201
    assert upload(api, ada, team, b"same bytes").status_code == 409


def test_the_workspace_can_be_named_in_a_form_field_before_the_file(
    api: httpx.Client, ada: Person, bob: Person
) -> None:
    team = create_workspace(api, ada)
    sent = api.post(
        "/api/v1/documents",
        data={"workspace_id": team},
        files={"file": ("a.txt", b"form field", "text/plain")},
        headers=ada.headers,
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["workspace_id"] == team
    refused = api.post(
        "/api/v1/documents",
        data={"workspace_id": team},
        files={"file": ("b.txt", b"not allowed", "text/plain")},
        headers=bob.headers,
    )
    assert refused.status_code == 404
    bad = api.post(
        "/api/v1/documents",
        data={"workspace_id": "nonsense"},
        files={"file": ("c.txt", b"x", "text/plain")},
        headers=ada.headers,
    )
    assert bad.status_code == 422


def test_search_covers_every_workspace_of_the_user_and_filters_by_one(
    api: httpx.Client, ada: Person, bob: Person, clean_db: str
) -> None:
    team = create_workspace(api, ada)
    join(api, ada, bob, team, "editor")
    mine = upload(api, bob, None, b"pangolin in my notes").json()["id"]
    shared = upload(api, ada, team, b"pangolin in the team").json()["id"]
    with psycopg.connect(clean_db, autocommit=True) as conn:  # as the worker would: ready and indexed
        for doc, text in ((mine, "pangolin in my notes"), (shared, "pangolin in the team")):
            conn.execute(
                "UPDATE documents SET status = 'ready', extracted_text = %s, "
                "search = to_tsvector('english', %s) WHERE id = %s",
                (text, text, doc),
            )
    everywhere = api.get("/api/v1/search", params={"q": "pangolin"}, headers=bob.headers).json()
    assert sorted(h["id"] for h in everywhere["items"]) == sorted([mine, shared])
    one = api.get(
        "/api/v1/search", params={"q": "pangolin", "workspace_id": team}, headers=bob.headers
    ).json()
    assert [h["id"] for h in one["items"]] == [shared]
    assert (
        api.get("/api/v1/search", params={"q": "pangolin"}, headers=ada.headers).json()["items"][0]["id"]
        == shared
    )


def test_tags_are_case_insensitive_filter_with_and_and_are_counted(api: httpx.Client, ada: Person) -> None:
    team = create_workspace(api, ada)
    one = upload(api, ada, team, b"first").json()["id"]
    two = upload(api, ada, team, b"second").json()["id"]
    edited = api.patch(
        f"/api/v1/documents/{one}",
        json={"title": "Budget 2026", "tags": ["Finance", "finance", "Q1"]},
        headers=ada.headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == "Budget 2026"
    assert edited.json()["tags"] == ["Finance", "Q1"]
    assert (
        api.patch(f"/api/v1/documents/{two}", json={"tags": ["FINANCE"]}, headers=ada.headers).status_code
        == 200
    )
    listed = api.get(
        "/api/v1/documents", params=[("workspace_id", team), ("tag", "finance")], headers=ada.headers
    )
    assert sorted(d["id"] for d in listed.json()["items"]) == sorted([one, two])
    both = api.get("/api/v1/documents", params=[("tag", "finance"), ("tag", "q1")], headers=ada.headers)
    assert [d["id"] for d in both.json()["items"]] == [one]
    counts = api.get(f"/api/v1/workspaces/{team}/tags", headers=ada.headers).json()
    assert counts == [{"name": "Finance", "count": 2}, {"name": "Q1", "count": 1}]


@pytest.mark.parametrize(
    "body",
    [
        {"tags": [f"t{n}" for n in range(21)]},
        {"tags": ["x" * 41]},
        {"tags": [" leading"]},
        {"tags": ["bad\nline"]},
        {"title": ""},
        {"title": "a" * 201},
        {"colour": "red"},
    ],
)
def test_bad_edits_are_422_and_change_nothing(
    api: httpx.Client, ada: Person, body: dict[str, object]
) -> None:
    doc = upload(api, ada, None, b"unchanged").json()
    refused = api.patch(f"/api/v1/documents/{doc['id']}", json=body, headers=ada.headers)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM)
    after = api.get(f"/api/v1/documents/{doc['id']}", headers=ada.headers).json()
    assert (after["title"], after["tags"], after["updated_at"]) == (doc["title"], [], doc["updated_at"])


def test_one_account_cannot_flood_workspaces_invitations_or_tags(
    api: httpx.Client, ada: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docket_api.domain.tags import repository as tags
    from docket_api.domain.workspaces import limits, service

    monkeypatch.setattr(service, "MAX_OWNED_WORKSPACES", 2)
    monkeypatch.setattr(service, "MAX_PENDING_INVITATIONS", 2)
    monkeypatch.setattr(tags, "MAX_TAGS_PER_WORKSPACE", 3)
    assert limits.MAX_OWNED_WORKSPACES > 2
    team = create_workspace(api, ada, "one")
    create_workspace(api, ada, "two")
    third = api.post("/api/v1/workspaces", json={"name": "three"}, headers=ada.headers)
    assert third.status_code == 403
    assert third.json()["type"] == "urn:docket:problem:quota-workspaces"
    invite(api, ada, team)
    invite(api, ada, team)
    assert _status(api, ada, "POST", f"/api/v1/workspaces/{team}/invitations", json={}) == 403
    doc = upload(api, ada, team, b"tagged").json()["id"]
    assert _status(api, ada, "PATCH", f"/api/v1/documents/{doc}", json={"tags": ["a", "b", "c"]}) == 200
    over = api.patch(f"/api/v1/documents/{doc}", json={"tags": ["a", "b", "c", "d"]}, headers=ada.headers)
    assert over.status_code == 403
    assert over.json()["type"] == "urn:docket:problem:quota-tags"
    assert api.get(f"/api/v1/documents/{doc}", headers=ada.headers).json()["tags"] == ["a", "b", "c"]


def test_quotas_count_per_workspace(serve_api: object, clean_db: str) -> None:
    base = serve_api(quota_documents=1)  # type: ignore[operator]
    with httpx.Client(base_url=base, timeout=10) as api:
        ada = person(api, "ada@example.com")
        team = create_workspace(api, ada)
        assert upload(api, ada, None, b"one").status_code == 201
        assert upload(api, ada, None, b"two").status_code == 403
        assert upload(api, ada, team, b"three").status_code == 201


def test_an_unknown_bearer_prefix_token_is_401_not_500(api: httpx.Client) -> None:
    response = api.get("/api/v1/documents", headers=bearer("dkt_" + "x" * 43))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("fields", "query", "status"),
    [
        ([("file", ("a.txt", b"x", "text/plain")), ("workspace_id", (None, b"nonsense"))], False, 422),
        ([("workspace_id", (None, b"not-a-uuid")), ("file", ("a.txt", b"x", "text/plain"))], True, 422),
        (
            [("workspace_id", (None, str(uuid.uuid4()).encode())), ("file", ("a.txt", b"x", "text/plain"))],
            True,
            409,
        ),
    ],
    ids=["invalid-after-the-file", "invalid-with-query", "other-than-the-query"],
)
def test_an_invalid_workspace_field_is_422_one_against_the_query_409_and_nothing_is_stored(
    api: httpx.Client, ada: Person, clean_db: str, fields: list[tuple[str, object]], query: bool, status: int
) -> None:
    params = {"workspace_id": ada.personal} if query else {}
    sent = api.post("/api/v1/documents", params=params, files=fields, headers=ada.headers)  # type: ignore[arg-type]
    assert sent.status_code == status, sent.text
    assert sent.headers["content-type"].startswith(PROBLEM)
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)


def test_a_workspace_field_after_the_file_still_decides_and_is_authorized(
    api: httpx.Client, ada: Person, bob: Person
) -> None:
    team = create_workspace(api, ada)
    late = [("file", ("a.txt", b"late field", "text/plain")), ("workspace_id", (None, team.encode()))]
    sent = api.post("/api/v1/documents", files=late, headers=ada.headers)  # type: ignore[arg-type]
    assert sent.status_code == 201, sent.text
    assert sent.json()["workspace_id"] == team
    refused = api.post("/api/v1/documents", files=late, headers=bob.headers)  # type: ignore[arg-type]
    assert refused.status_code == 404
