"""The audit log: exactly one entry per action, with actor, workspace, target and client address;
admins only; keyset pages; append-only."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from teamkit import create_workspace, invite, join, person, personal_token, upload


def _entries(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn:
        cur = conn.execute(
            "SELECT action, actor_id::text, workspace_id::text, target_type, target_id, client_ip "
            "FROM audit_log ORDER BY id"
        )
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_every_action_writes_exactly_one_entry_with_its_actor_and_target(
    api: httpx.Client, clean_db: str
) -> None:
    ada = person(api, "ada@example.com")
    bob = person(api, "bob@example.com")
    carol = person(api, "carol@example.com")
    team = create_workspace(api, ada)
    expected: list[tuple[str, str, str | None, str | None]] = [
        ("auth.signed_in", ada.id, None, ada.id),
        ("auth.signed_in", bob.id, None, bob.id),
        ("auth.signed_in", carol.id, None, carol.id),
        ("workspace.created", ada.id, team, team),
    ]
    invitation = invite(api, ada, team, "viewer")
    expected.append(("invitation.created", ada.id, team, invitation["id"]))
    assert (
        api.post(f"/api/v1/invitations/{invitation['token']}/accept", headers=bob.headers).status_code == 201
    )
    expected.append(("invitation.accepted", bob.id, team, invitation["id"]))
    revoked = invite(api, ada, team)
    api.delete(f"/api/v1/workspaces/{team}/invitations/{revoked['id']}", headers=ada.headers)
    expected += [
        ("invitation.created", ada.id, team, revoked["id"]),
        ("invitation.revoked", ada.id, team, revoked["id"]),
    ]
    doc = upload(api, ada, team, b"audited").json()["id"]
    expected.append(("document.uploaded", ada.id, team, doc))
    api.patch(f"/api/v1/documents/{doc}", json={"title": "Audited", "tags": ["x"]}, headers=ada.headers)
    expected.append(("document.edited", ada.id, team, doc))
    with psycopg.connect(clean_db, autocommit=True) as conn:  # processing finished, so it may run again
        conn.execute("UPDATE jobs SET status = 'succeeded'")
    assert api.post(f"/api/v1/documents/{doc}/reprocess", headers=ada.headers).status_code == 202
    expected.append(("document.reprocessed", ada.id, team, doc))
    api.patch(f"/api/v1/workspaces/{team}/members/{bob.id}", json={"role": "editor"}, headers=ada.headers)
    expected.append(("member.role_changed", ada.id, team, bob.id))
    join(api, ada, carol, team)
    carol_invitation = _entries(clean_db)[-2]["target_id"]
    expected += [
        ("invitation.created", ada.id, team, carol_invitation),
        ("invitation.accepted", carol.id, team, carol_invitation),
    ]
    api.delete(f"/api/v1/workspaces/{team}/members/{carol.id}", headers=ada.headers)
    expected.append(("member.removed", ada.id, team, carol.id))
    api.delete(f"/api/v1/workspaces/{team}/members/{bob.id}", headers=bob.headers)
    expected.append(("member.left", bob.id, team, bob.id))
    api.patch(f"/api/v1/workspaces/{team}", json={"name": "Renamed"}, headers=ada.headers)
    expected.append(("workspace.renamed", ada.id, team, team))
    token = personal_token(api, ada, ["documents:read"], workspace_id=team)
    api.delete(f"/api/v1/tokens/{token['id']}", headers=ada.headers)
    expected += [("token.created", ada.id, team, token["id"]), ("token.revoked", ada.id, team, token["id"])]
    api.delete(f"/api/v1/documents/{doc}", headers=ada.headers)
    expected.append(("document.deleted", ada.id, team, doc))
    api.delete(f"/api/v1/workspaces/{team}", headers=ada.headers)
    expected.append(("workspace.deleted", ada.id, team, team))

    entries = _entries(clean_db)
    assert [(e["action"], e["actor_id"], e["workspace_id"], e["target_id"]) for e in entries] == expected
    assert all(e["client_ip"] == "127.0.0.1" for e in entries)


def test_refused_actions_write_nothing(api: httpx.Client, clean_db: str) -> None:
    ada = person(api, "ada@example.com")
    bob = person(api, "bob@example.com")
    team = create_workspace(api, ada)
    join(api, ada, bob, team, "viewer")
    doc = upload(api, ada, team, b"kept").json()["id"]
    before = len(_entries(clean_db))
    assert api.delete(f"/api/v1/documents/{doc}", headers=bob.headers).status_code == 403
    assert api.post(f"/api/v1/workspaces/{team}/invitations", json={}, headers=bob.headers).status_code == 403
    assert (
        api.patch(f"/api/v1/workspaces/{team}", json={"name": "Mine"}, headers=bob.headers).status_code == 403
    )
    assert len(_entries(clean_db)) == before


def test_admins_read_the_log_newest_first_in_keyset_pages_and_others_cannot(api: httpx.Client) -> None:
    ada = person(api, "ada@example.com")
    bob = person(api, "bob@example.com")
    team = create_workspace(api, ada)
    join(api, ada, bob, team, "editor")
    for n in range(5):
        upload(api, ada, team, f"doc {n}".encode())
    assert api.get(f"/api/v1/workspaces/{team}/audit", headers=bob.headers).status_code == 403
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/api/v1/workspaces/{team}/audit", params=params, headers=ada.headers).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == 8  # created, invitation created + accepted, five uploads


def test_the_log_is_append_only(api: httpx.Client, clean_db: str) -> None:
    person(api, "ada@example.com")
    with psycopg.connect(clean_db) as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("UPDATE audit_log SET action = 'forged'")
