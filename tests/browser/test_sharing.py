"""Sharing a workspace in a real browser: two users, each in a browser context of their own.

A creates a workspace and invites B as a viewer; B accepts, sees A's upload appear in the list without
reloading, searches it and downloads it, but has no delete control and a forged delete is refused;
A promotes B to editor, and B deletes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browserkit import CHROMIUM, MISSING_CHROMIUM, assert_accessible
from webkit import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=MISSING_CHROMIUM)]

NewPage = Callable[..., Any]
Shoot = Callable[[Any, str], Path]
NOTES = b"Expedition log: the team counted seventeen narwhals off the coast.\n" * 10


def _expect(locator: Any) -> Any:
    from playwright.sync_api import expect

    return expect(locator)


def _sign_up(page: Any) -> str:
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/signup")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/upload?notice=welcome")
    return email


def test_a_shared_workspace_from_invitation_to_deletion(
    new_page: NewPage, screenshot: Shoot, tmp_path: Path
) -> None:
    ada, bob = new_page(), new_page()  # two browser contexts: two users, two sets of cookies
    _sign_up(ada)
    bob_email = _sign_up(bob)

    # A creates a workspace and invites a viewer
    ada.goto("/workspaces")
    ada.get_by_label("Name").fill("Expedition <b>2026</b>")
    ada.get_by_role("button", name="Create workspace").click()
    ada.wait_for_url("**/documents?workspace=*")
    workspace = ada.url.split("workspace=", 1)[1]
    _expect(ada.get_by_role("heading", level=1)).to_have_text("Documents of Expedition <b>2026</b>")
    ada.get_by_role("link", name="Members").click()
    ada.get_by_label("Role", exact=True).select_option("viewer")
    ada.get_by_role("button", name="Create invitation link").click()
    link = ada.get_by_role("textbox", name="Invitation link").input_value()
    assert "/invitations/" in link
    assert_accessible(ada)
    screenshot(ada, "sharing-01-invitation")

    # B accepts and watches the workspace's (empty) list
    bob.goto(link)
    bob.get_by_role("button", name="Join the workspace").click()
    bob.wait_for_url(f"**/documents?workspace={workspace}")
    _expect(bob.get_by_role("combobox", name="Workspace")).to_have_value(workspace)
    _expect(bob.get_by_role("heading", name="No documents yet")).to_be_visible()
    _expect(bob.get_by_role("link", name="Upload files")).to_have_count(0)
    bob.evaluate("window.docketNoReload = true")

    # A uploads into the workspace; it appears in B's list, and goes live to Ready, without a reload
    ada.goto(f"/upload?workspace={workspace}")
    notes = tmp_path / "narwhals.txt"
    notes.write_bytes(NOTES)
    ada.set_input_files("#upload-files", str(notes))
    ada.get_by_role("button", name="Upload", exact=True).click()
    _expect(ada.locator("#upload-list .upload-status", has_text="Uploaded.")).to_have_count(1)
    _expect(bob.locator("table.documents tbody tr")).to_have_count(1, timeout=30_000)
    _expect(bob.locator("table.documents .badge-ready")).to_have_count(1, timeout=30_000)
    assert bob.evaluate("window.docketNoReload") is True, "the list changed without a reload"
    screenshot(bob, "sharing-02-viewer-list")

    # B searches it and downloads it
    bob.get_by_role("link", name="Search").click()
    bob.get_by_label("Search inside the documents of Expedition <b>2026</b>").fill("narwhals")
    bob.get_by_role("button", name="Search").click()
    _expect(bob.locator("ol.results li")).to_have_count(1)
    bob.locator("ol.results h3 a").click()
    bob.wait_for_url("**/documents/*")
    document_url = bob.url
    with bob.expect_download() as download_info:
        bob.get_by_role("link", name="Download").click()
    assert Path(download_info.value.path()).read_bytes() == NOTES

    # B, a viewer, has no delete control; a forged delete gets the API's refusal and changes nothing
    _expect(bob.get_by_role("link", name="Delete…")).to_have_count(0)
    _expect(bob.get_by_role("button", name="Save")).to_have_count(0)
    assert_accessible(bob)
    token = bob.locator('meta[name="csrf-token"]').get_attribute("content")
    forged = bob.request.post(f"{document_url}/delete", form={"_csrf_token": token}, max_redirects=0)
    assert forged.status == 403
    assert "You do not have permission to do that." in forged.text()
    bob.reload()
    _expect(bob.locator("pre.preview")).to_contain_text("seventeen narwhals")

    # A makes B an editor; B deletes the document
    ada.goto(f"/workspaces/{workspace}/members")
    ada.get_by_label(f"Role of {bob_email}").select_option("editor")
    ada.get_by_role("button", name="Change role").click()
    _expect(ada.locator(f'tr[data-member="{bob_email}"] td').first).to_have_text("editor")
    screenshot(ada, "sharing-03-members")
    bob.reload()
    bob.get_by_role("link", name="Delete…").click()
    bob.get_by_role("button", name="Yes, delete this document").click()
    bob.wait_for_url(f"**/documents?notice=deleted&workspace={workspace}")
    _expect(bob.get_by_text("The document was deleted.")).to_be_visible()
    _expect(bob.get_by_role("heading", name="No documents yet")).to_be_visible()
    ada.goto(document_url)
    _expect(ada.get_by_role("heading", name="Page not found")).to_be_visible()
