"""Teams through the web over real HTTP: workspaces, members, invitations, tags, tokens and the audit log.

Two browsers (two users) on the real API and PostgreSQL; every refusal is the API's, shown by the web.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from webkit import Browser

Serve = Callable[..., str]
INVITE_LINK = re.compile(r'value="(http://[^"]+/invitations/([A-Za-z0-9_-]+))"')
DOC_LINK = re.compile(r'href="/documents/([0-9a-f-]{36})"')
WORKSPACE_IN_URL = re.compile(r"workspace=([0-9a-f-]{36})")
MEMBER_FORM = re.compile(r'action="/workspaces/[0-9a-f-]{36}/members/([0-9a-f-]{36})/role"')


@pytest.fixture
def web(serve_api: Serve, serve_web: Serve) -> str:
    return serve_web(serve_api())


@pytest.fixture
def ada(web: str) -> Iterator[Browser]:
    with Browser(web) as browser:
        browser.sign_up("ada@example.com")
        yield browser


@pytest.fixture
def bob(web: str) -> Iterator[Browser]:
    with Browser(web) as browser:
        browser.sign_up("bob@example.com")
        yield browser


def create_workspace(browser: Browser, name: str) -> str:
    response = browser.submit("/workspaces", "/workspaces", {"name": name})
    assert response.status_code == 303, response.text
    found = WORKSPACE_IN_URL.search(response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def invite(browser: Browser, workspace: str, role: str = "viewer") -> tuple[httpx.Response, str]:
    members = f"/workspaces/{workspace}/members"
    response = browser.submit(members, f"{members[:-8]}/invitations", {"role": role})
    found = INVITE_LINK.search(response.text)
    return response, found.group(2) if found else ""


def join(browser: Browser, workspace: str, host: Browser, role: str = "viewer") -> None:
    created, token = invite(host, workspace, role)
    assert created.status_code == 201, created.text
    accepted = browser.submit(f"/invitations/{token}", f"/invitations/{token}/accept", {})
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"] == f"/documents?workspace={workspace}"


def upload(browser: Browser, workspace: str, name: str, body: bytes) -> str:
    """The script's upload into ``workspace`` (empty: the personal one)."""
    path = f"/upload?workspace={workspace}" if workspace else "/upload"
    token = browser.csrf_token(path)
    response = browser.post(
        path,
        files={"file": (name, body)},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["document_id"])


def member_id(browser: Browser, workspace: str) -> str:
    page = browser.get(f"/workspaces/{workspace}/members")
    found = MEMBER_FORM.search(page.text)
    assert found, page.text
    return found.group(1)


def test_a_viewer_reads_but_cannot_change_until_promoted(ada: Browser, bob: Browser) -> None:
    workspace = create_workspace(ada, "Field notes")
    join(bob, workspace, ada)
    document = upload(ada, workspace, "okapi.txt", b"The okapi lives in the Ituri forest.")

    listing = bob.get(f"/documents?workspace={workspace}")
    assert listing.status_code == 200
    assert f'href="/documents/{document}"' in listing.text
    assert "Field notes (viewer)" in listing.text  # the switcher
    assert f'href="/upload?workspace={workspace}"' not in listing.text
    page = bob.get(f"/documents/{document}")
    assert page.status_code == 200
    assert f"/documents/{document}/delete" not in page.text
    assert f"/documents/{document}/edit" not in page.text
    assert bob.get(f"/documents/{document}/download").content.startswith(b"The okapi")

    forged = bob.submit(f"/documents/{document}", f"/documents/{document}/delete", {})
    assert forged.status_code == 403
    assert "You do not have permission" in forged.text
    edited = bob.submit(
        f"/documents/{document}", f"/documents/{document}/edit", {"title": "Mine", "tags": "x"}
    )
    assert edited.status_code == 403
    assert "does not allow this" in edited.text
    scripted = bob.csrf_token(f"/upload?workspace={workspace}")
    refused = bob.post(
        f"/upload?workspace={workspace}",
        files={"file": ("mine.txt", b"a viewer's upload")},
        headers={"X-CSRFToken": scripted, "Accept": "application/json"},
    )
    assert refused.status_code == 403
    assert refused.json()["kind"] == "forbidden"
    invited, _ = invite(bob, workspace)
    assert invited.status_code == 403
    assert ada.get(f"/documents/{document}").status_code == 200, "nothing changed"
    assert "okapi.txt" in ada.get(f"/documents/{document}").text

    bob_id = member_id(ada, workspace)
    promoted = ada.submit(
        f"/workspaces/{workspace}/members",
        f"/workspaces/{workspace}/members/{bob_id}/role",
        {"role": "editor"},
    )
    assert promoted.status_code == 303
    assert f"/documents/{document}/delete" in bob.get(f"/documents/{document}").text
    deleted = bob.submit(f"/documents/{document}/delete", f"/documents/{document}/delete", {})
    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"/documents?notice=deleted&workspace={workspace}"
    assert ada.get(f"/documents/{document}").status_code == 404


def test_the_list_script_learns_the_newest_document_of_its_workspace_only(ada: Browser, bob: Browser) -> None:
    workspace = create_workspace(ada, "Newest")
    listing = ada.get(f"/documents?workspace={workspace}").text
    assert f'data-live-list="/documents/newest?workspace={workspace}"' in listing
    json = {"Accept": "application/json"}
    assert ada.get(f"/documents/newest?workspace={workspace}", headers=json).json() == {"id": None}
    shared = upload(ada, workspace, "shared.txt", b"In the shared workspace.")
    assert ada.get(f"/documents/newest?workspace={workspace}", headers=json).json() == {"id": shared}
    assert ada.get("/documents/newest", headers=json).json() == {"id": None}, "the personal one by default"
    refused = bob.get(f"/documents/newest?workspace={workspace}", headers=json)
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_a_non_member_gets_404_on_every_page_of_the_workspace(ada: Browser, bob: Browser) -> None:
    workspace = create_workspace(ada, "Private")
    document = upload(ada, workspace, "secret.txt", b"Only for members.")
    for path in (
        f"/documents?workspace={workspace}",
        f"/search?q=members&workspace={workspace}",
        f"/upload?workspace={workspace}",
        f"/workspaces/{workspace}/members",
        f"/workspaces/{workspace}/audit",
        f"/documents/{document}",
        f"/documents/{document}/download",
        "/documents?workspace=not-a-uuid",
    ):
        assert bob.get(path).status_code == 404, path
    for action in (
        f"/workspaces/{workspace}/invitations",
        f"/workspaces/{workspace}/members/{uuid.uuid4()}/remove",
        f"/workspaces/{workspace}/rename",
        f"/workspaces/{workspace}/transfer",
        f"/workspaces/{workspace}/delete",
        f"/documents/{document}/delete",
    ):
        assert bob.submit("/documents", action, {"role": "viewer"}).status_code == 404, action
    assert "secret.txt" in ada.get(f"/documents?workspace={workspace}").text


def test_the_personal_workspace_is_the_default_and_keeps_its_documents_apart(ada: Browser) -> None:
    shared = create_workspace(ada, "Team")
    mine = upload(ada, "", "mine.txt", b"In my own workspace.")
    theirs = upload(ada, shared, "team.txt", b"In the team workspace.")
    personal = ada.get("/documents").text
    assert mine in personal
    assert theirs not in personal
    team = ada.get(f"/documents?workspace={shared}").text
    assert theirs in team
    assert mine not in team


def test_an_invite_link_sends_a_signed_out_visitor_to_sign_in_and_back(web: str, ada: Browser) -> None:
    workspace = create_workspace(ada, "Readers")
    _, token = invite(ada, workspace)
    with Browser(web) as visitor:
        first = visitor.get(f"/invitations/{token}")
        assert first.status_code == 303
        assert first.headers["location"] == f"/signin?next=%2Finvitations%2F{token}"
        visitor.sign_up("carol@example.com")
        assert visitor.submit("/documents", "/signout", {}).status_code == 303
        signed_in = visitor.submit(
            "/signin",
            "/signin",
            {
                "email": "carol@example.com",
                "password": "correct horse battery",
                "next": f"/invitations/{token}",
            },
        )
        assert signed_in.headers["location"] == f"/invitations/{token}"
        assert "Join the workspace" in visitor.get(f"/invitations/{token}").text
        assert visitor.submit(f"/invitations/{token}", f"/invitations/{token}/accept", {}).status_code == 303
        again = visitor.submit(f"/invitations/{token}", f"/invitations/{token}/accept", {})
        assert again.status_code in (404, 409)
        assert "alert error" in again.text
    assert "carol@example.com" in ada.get(f"/workspaces/{workspace}/members").text


def test_a_revoked_invitation_cannot_be_accepted(ada: Browser, bob: Browser) -> None:
    workspace = create_workspace(ada, "Revoked")
    _, token = invite(ada, workspace)
    members = ada.get(f"/workspaces/{workspace}/members").text
    revoke = re.search(r'action="(/workspaces/[0-9a-f-]{36}/invitations/[0-9a-f-]{36}/revoke)"', members)
    assert revoke
    assert ada.submit(f"/workspaces/{workspace}/members", revoke.group(1), {}).status_code == 303
    assert "No open invitations." in ada.get(f"/workspaces/{workspace}/members").text
    refused = bob.submit(f"/invitations/{token}", f"/invitations/{token}/accept", {})
    assert refused.status_code == 404
    assert "This invitation link is not valid" in refused.text
    assert bob.get(f"/documents?workspace={workspace}").status_code == 404
    assert bob.get("/invitations/short").status_code in (400, 404)


def test_changes_without_the_csrf_token_are_refused_and_change_nothing(ada: Browser, bob: Browser) -> None:
    workspace = create_workspace(ada, "Guarded")
    join(bob, workspace, ada)
    bob_id = member_id(ada, workspace)
    for action, data in (
        (f"/workspaces/{workspace}/invitations", {"role": "admin"}),
        (f"/workspaces/{workspace}/members/{bob_id}/role", {"role": "admin"}),
        (f"/workspaces/{workspace}/members/{bob_id}/remove", {}),
        ("/workspaces", {"name": "Sneaky"}),
        ("/tokens", {"name": "sneaky", "scope": "documents:read"}),
    ):
        response = ada.post(action, data=data)
        assert response.status_code == 403, action
        assert "This form has expired" in response.text
    members = ada.get(f"/workspaces/{workspace}/members").text
    assert "No open invitations." in members
    assert re.search(r"bob@example.com.*?<td>viewer</td>", members, re.S)
    assert "Sneaky" not in ada.get("/workspaces").text
    assert "You have no tokens." in ada.get("/tokens").text


def test_a_viewer_cannot_change_roles_or_remove_members(ada: Browser, bob: Browser, web: str) -> None:
    workspace = create_workspace(ada, "Roles")
    join(bob, workspace, ada)
    page = bob.get(f"/workspaces/{workspace}/members").text
    assert "Change role" not in page
    assert "Create invitation link" not in page
    assert '<tr data-member="ada@example.com">' in page
    bob_id = member_id(ada, workspace)
    refused = bob.submit(
        f"/workspaces/{workspace}/members",
        f"/workspaces/{workspace}/members/{bob_id}/role",
        {"role": "admin"},
    )
    assert refused.status_code == 403
    assert 'id="members-error"' in refused.text
    assert re.search(r"bob@example.com.*?<td>viewer</td>", refused.text, re.S)
    # an admin cannot grant above their own role, and the owner cannot be removed
    beyond = ada.submit(
        f"/workspaces/{workspace}/members",
        f"/workspaces/{workspace}/members/{bob_id}/role",
        {"role": "owner"},
    )
    assert beyond.status_code in (400, 422)
    assert "alert error" in beyond.text
    removed = ada.submit(
        f"/workspaces/{workspace}/members", f"/workspaces/{workspace}/members/{bob_id}/remove", {}
    )
    assert removed.status_code == 303
    assert bob.get(f"/documents?workspace={workspace}").status_code == 404


def test_a_hostile_admin_cannot_flood_invitations_past_the_api_limit(ada: Browser) -> None:
    workspace = create_workspace(ada, "Flood")
    members = f"/workspaces/{workspace}/members"
    token = ada.csrf_token(members)
    statuses = [
        ada.post(
            f"/workspaces/{workspace}/invitations", data={"_csrf_token": token, "role": "viewer"}
        ).status_code
        for _ in range(51)
    ]
    assert statuses[:50] == [201] * 50
    assert statuses[50] == 403
    last = ada.post(f"/workspaces/{workspace}/invitations", data={"_csrf_token": token, "role": "viewer"})
    assert last.status_code == 403
    assert "open invitations, the most it may" in last.text
    assert last.text.count("/revoke") == 50
    # the audit log pages by keyset: 50 invitations and the creation make more than one page
    audit = ada.get(f"/workspaces/{workspace}/audit")
    assert audit.status_code == 200
    assert audit.text.count("invitation") >= 50
    older = re.search(r'href="([^"]+)" rel="next"', audit.text)
    assert older
    second = ada.get(html.unescape(older.group(1)))
    assert second.status_code == 200
    assert "workspace" in second.text
    assert 'rel="prev"' in second.text


def test_titles_tags_and_filters(ada: Browser) -> None:
    workspace = create_workspace(ada, "Tagged")
    first = upload(ada, workspace, "a.txt", b"The first aardvark.")
    second = upload(ada, workspace, "b.txt", b"The second aardvark.")
    page = f"/documents/{first}"
    saved = ada.submit(page, f"{page}/edit", {"title": "First one", "tags": "Blue, green, blue"})
    assert saved.status_code == 303
    shown = ada.get(page).text
    assert "First one" in shown
    assert ">Blue</a>" in shown
    assert ">green</a>" in shown
    assert (
        ada.submit(
            f"/documents/{second}", f"/documents/{second}/edit", {"title": "Second", "tags": "blue"}
        ).status_code
        == 303
    )

    both = ada.get(f"/documents?workspace={workspace}&tag=blue").text
    assert first in both
    assert second in both
    only = ada.get(f"/documents?workspace={workspace}&tag=blue&tag=GREEN").text
    assert first in only
    assert second not in only
    none = ada.get(f"/documents?workspace={workspace}&tag=blue&tag=red").text
    assert first not in none
    assert "Nothing matches these filters" in none

    too_many = ada.submit(
        page, f"{page}/edit", {"title": "First one", "tags": ", ".join(f"t{i}" for i in range(21))}
    )
    assert too_many.status_code in (400, 422)
    assert "alert error" in too_many.text
    too_long = ada.submit(page, f"{page}/edit", {"title": "First one", "tags": "x" * 41})
    assert too_long.status_code in (400, 422)
    assert 'value="' + "x" * 41 in too_long.text, "the form keeps what was typed"
    assert ">green</a>" in ada.get(page).text, "nothing changed"


def test_the_search_form_keeps_its_workspace_and_tag_filters(ada: Browser, bob: Browser) -> None:
    """(Hits themselves need a worker to read the file: tests/browser/test_sharing.py finds one.)"""
    workspace = create_workspace(ada, "Search here")
    join(bob, workspace, ada)
    found = bob.get(f"/search?q=pangolin&workspace={workspace}")
    assert found.status_code == 200
    assert f'<input type="hidden" name="workspace" value="{workspace}">' in found.text
    assert "the documents of Search here" in found.text
    tagged = bob.get(f"/search?q=pangolin&workspace={workspace}&tag=Blue&tag=blue&tag=")
    assert tagged.status_code == 200
    assert tagged.text.count('<input type="hidden" name="tag" value="') == 1, "each tag once, blanks dropped"
    assert '<span class="tag">Blue</span>' in tagged.text


def test_html_in_names_titles_and_tags_is_escaped(ada: Browser, bob: Browser) -> None:
    hostile = '<script>alert("ws")</script>'
    workspace = create_workspace(ada, hostile)
    document = upload(ada, workspace, "x.txt", b"Escaping.")
    edited = ada.submit(
        f"/documents/{document}",
        f"/documents/{document}/edit",
        {"title": '<img src=x onerror="alert(1)">', "tags": "a&b"},
    )
    assert edited.status_code == 303
    join(bob, workspace, ada)
    for browser, path in (
        (ada, "/workspaces"),
        (bob, f"/documents?workspace={workspace}"),
        (bob, f"/documents/{document}"),
        (bob, f"/workspaces/{workspace}/members"),
        (ada, f"/workspaces/{workspace}/members"),  # the owner's rename, transfer and delete forms
        (ada, f"/workspaces/{workspace}/audit"),
    ):
        text = browser.get(path).text
        assert "<script>alert" not in text, path
        assert "<img src=x" not in text, path
    assert (
        "&lt;script&gt;alert(&#34;ws&#34;)&lt;/script&gt;"
        in bob.get(f"/documents?workspace={workspace}").text
    )
    assert "a&amp;b" in bob.get(f"/documents/{document}").text
    refused = ada.submit(
        f"/documents/{document}", f"/documents/{document}/edit", {"title": "t", "tags": "<b>"}
    )
    assert refused.status_code in (400, 422)
    assert 'value="&lt;b&gt;"' in refused.text


def test_tokens_show_the_secret_once_and_can_be_revoked(ada: Browser, web: str) -> None:
    created = ada.submit(
        "/tokens", "/tokens", {"name": "backup script", "scope": ["documents:read"], "expires_in_days": "30"}
    )
    assert created.status_code == 201, created.text
    secret = re.search(r'id="token-secret" type="text" value="(dkt_[^"]+)"', created.text)
    assert secret
    listing = ada.get("/tokens").text
    assert "backup script" in listing
    assert secret.group(1) not in listing, "the secret is shown once"
    too_long = ada.submit(
        "/tokens", "/tokens", {"name": "forever", "scope": "documents:read", "expires_in_days": "400"}
    )
    assert too_long.status_code in (400, 422)
    assert "alert error" in too_long.text
    no_scope = ada.submit("/tokens", "/tokens", {"name": "empty", "expires_in_days": "30"})
    assert no_scope.status_code in (400, 422)
    revoke = re.search(r'action="(/tokens/[0-9a-f-]{36}/revoke)"', listing)
    assert revoke
    assert ada.submit("/tokens", revoke.group(1), {}).status_code == 303
    assert ">revoked<" in ada.get("/tokens").text
    assert ada.submit("/tokens", f"/tokens/{uuid.uuid4()}/revoke", {}).status_code == 404


def test_the_audit_page_is_for_admins(ada: Browser, bob: Browser) -> None:
    workspace = create_workspace(ada, "Audited")
    join(bob, workspace, ada)
    audit = ada.get(f"/workspaces/{workspace}/audit")
    assert audit.status_code == 200
    assert "bob@example.com" in audit.text  # the actor of the accepted invitation, by email
    assert "Audit log" not in bob.get(f"/documents?workspace={workspace}").text
    assert bob.get(f"/workspaces/{workspace}/audit").status_code == 403


def test_an_editor_cannot_flood_a_workspace_with_tags_past_the_api_limit(ada: Browser) -> None:
    workspace = create_workspace(ada, "Tag flood")
    token = ada.csrf_token("/workspaces")
    statuses = []
    for n in range(26):  # 20 new tags on each: the workspace's 500 are spent by the 25th
        document = upload(ada, workspace, f"d{n}.txt", f"Document number {n}.".encode())
        tags = ", ".join(f"t{n}-{i}" for i in range(20))
        edited = ada.post(
            f"/documents/{document}/edit", data={"_csrf_token": token, "title": f"D{n}", "tags": tags}
        )
        statuses.append(edited.status_code)
    assert statuses[:25] == [303] * 25
    assert statuses[25] == 403
    assert "alert error" in edited.text
    assert 'value="t25-0, t25-1' in edited.text, "the form keeps what was typed"
    assert "Nothing matches these filters" in ada.get(f"/documents?workspace={workspace}&tag=t25-0").text


def test_the_owner_renames_transfers_and_deletes_a_workspace(ada: Browser, bob: Browser) -> None:
    workspace = create_workspace(ada, "Draft room")
    members = f"/workspaces/{workspace}/members"
    join(bob, workspace, ada, role="admin")
    assert f'action="{members[:-8]}/rename"' in ada.get(members).text
    assert f'action="{members[:-8]}/rename"' not in bob.get(members).text, "an admin is not the owner"
    forged = bob.submit(members, f"{members[:-8]}/rename", {"name": "Hijacked"})
    assert forged.status_code == 403, forged.text

    renamed = ada.submit(members, f"{members[:-8]}/rename", {"name": "Reading room"})
    assert renamed.status_code == 303, renamed.text
    assert "Members of Reading room" in ada.get(members).text
    empty = ada.submit(members, f"{members[:-8]}/rename", {"name": "  "})
    assert empty.status_code == 422, empty.text
    assert "Members of Reading room" in empty.text

    stranger = ada.submit(members, f"{members[:-8]}/transfer", {"owner_id": str(uuid.uuid4())})
    assert stranger.status_code == 409, stranger.text
    assert 'id="members-error"' in stranger.text
    transferred = ada.submit(members, f"{members[:-8]}/transfer", {"owner_id": member_id(ada, workspace)})
    assert transferred.status_code == 303, transferred.text
    assert "Your role: <strong>admin</strong>" in ada.get(members).text
    assert "Your role: <strong>owner</strong>" in bob.get(members).text
    refused = ada.submit(members, f"{members[:-8]}/delete", {"confirm_name": "Reading room"})
    assert refused.status_code == 403, "the old owner cannot delete it any more"

    document = upload(bob, workspace, "kept.txt", b"Kept until the owner deletes the workspace.")
    unconfirmed = bob.submit(members, f"{members[:-8]}/delete", {"confirm_name": "reading"})
    assert unconfirmed.status_code == 422, unconfirmed.text
    assert bob.get(f"/documents/{document}").status_code == 200, "nothing was deleted"
    deleted = bob.submit(members, f"{members[:-8]}/delete", {"confirm_name": "Reading room"})
    assert deleted.status_code == 303, deleted.text
    assert deleted.headers["location"] == "/documents"
    for browser in (ada, bob):
        assert browser.get(members).status_code == 404
        assert browser.get(f"/documents/{document}").status_code == 404
