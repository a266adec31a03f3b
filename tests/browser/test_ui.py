"""Docket in a real browser: what a user does, from signing up to signing out, with a real worker."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browserkit import CHROMIUM, MISSING_CHROMIUM, Stack, assert_accessible
from samples import text_pdf
from webkit import PASSWORD, Browser

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=MISSING_CHROMIUM)]

NewPage = Callable[..., Any]
Shoot = Callable[[Any, str], Path]
PDF = text_pdf("Quarterly figures mention the xylophonist and the harbour", title="Harbour report")
NOTES = b"Field notes: a friendly quetzal was seen near the river at dawn.\n" * 20
ALL_PROGRESS_AT_100 = """
(count) => {
  const bars = [...document.querySelectorAll('#upload-list progress')];
  return bars.length === count && bars.every((bar) => bar.value === 100);
}
"""


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:8]}@example.com"


def _sign_up(page: Any, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/upload?notice=welcome")


def _expect(locator: Any) -> Any:
    from playwright.sync_api import expect

    return expect(locator)


def test_sign_up_upload_watch_search_download_delete_and_sign_out(
    new_page: NewPage, screenshot: Shoot, tmp_path: Path
) -> None:
    page = new_page()
    page.goto("/")
    assert_accessible(page)
    screenshot(page, "01-home")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email address").fill(_email())
    page.get_by_label("Password").fill(PASSWORD)
    assert_accessible(page)
    screenshot(page, "02-signup")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/upload?notice=welcome")
    _expect(page.get_by_role("status").filter(has_text="Your account is ready")).to_be_visible()

    # two files at once: each gets a progress bar that reaches 100 %, then goes live to "Ready"
    page.evaluate("window.docketNoReload = true")
    page.set_input_files(
        "#upload-files",
        [
            {"name": "harbour-report.pdf", "mimeType": "application/pdf", "buffer": PDF},
            {"name": "field-notes.txt", "mimeType": "text/plain", "buffer": NOTES},
        ],
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_function(ALL_PROGRESS_AT_100, arg=2)
    _expect(page.locator("#upload-list .upload-status", has_text="Uploaded.")).to_have_count(2)
    _expect(page.locator("#upload-list .badge-ready")).to_have_count(2, timeout=30_000)
    assert page.evaluate("window.docketNoReload") is True, "the statuses changed without a reload"
    _expect(page.locator("#live-announcer")).to_contain_text("is now ready")
    assert_accessible(page)
    screenshot(page, "03-upload")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Documents").click()
    _expect(page.locator("table.documents tbody tr")).to_have_count(2)
    _expect(page.locator("table.documents .badge-ready")).to_have_count(2)
    assert_accessible(page)
    screenshot(page, "04-documents")

    # a word from inside the PDF finds it, highlighted
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
    page.get_by_label("Search inside your documents").fill("xylophonist")
    page.keyboard.press("Enter")
    _expect(page.locator("ol.results li")).to_have_count(1)
    _expect(page.locator("ol.results mark").first).to_have_text("xylophonist")
    assert_accessible(page)
    screenshot(page, "05-search")
    page.get_by_label("Search inside your documents").fill("zeppelin")
    page.keyboard.press("Enter")
    _expect(page.get_by_role("heading", name="No documents match “zeppelin”")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "06-search-empty")
    page.go_back()

    # the document page: metadata, text preview, and a download with the original bytes and name
    page.locator("ol.results h3 a").first.click()
    page.wait_for_url("**/documents/*")
    _expect(page.locator("pre.preview")).to_contain_text("xylophonist")
    _expect(page.locator("dl.meta")).to_contain_text("harbour-report.pdf")
    assert_accessible(page)
    screenshot(page, "07-document")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "harbour-report.pdf"
    assert Path(download.path()).read_bytes() == PDF

    # deleting asks first
    page.get_by_role("link", name="Delete…").click()
    _expect(page.get_by_role("heading", level=1)).to_contain_text("Delete")
    assert_accessible(page)
    screenshot(page, "08-delete")
    page.get_by_role("button", name="Yes, delete this document").click()
    page.wait_for_url("**/documents?notice=deleted")
    _expect(page.get_by_text("The document was deleted.")).to_be_visible()
    _expect(page.locator("table.documents tbody tr")).to_have_count(1)

    # a file over the 20 MB limit is refused inline, next to its name
    big = tmp_path / "scan.txt"
    big.write_bytes(b"a" * (21 * 1024 * 1024))
    page.goto("/upload")
    page.set_input_files("#upload-files", str(big))
    page.get_by_role("button", name="Upload", exact=True).click()
    error = page.locator("#upload-list .upload-item", has_text="scan.txt").locator(".field-error")
    _expect(error).to_have_text("This file is larger than the 20 MB limit.")
    screenshot(page, "09-upload-too-large")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin?notice=signed-out")
    _expect(page.get_by_text("You have signed out.")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "10-signin")
    page.goto("/documents")
    page.wait_for_url("**/signin?next=%2Fdocuments")


def test_another_user_cannot_open_the_first_users_document(
    stack: Stack, new_page: NewPage, screenshot: Shoot
) -> None:
    with Browser(stack.web) as owner:
        owner.sign_up(_email())
        uploaded = owner.upload_streamed("diary.txt", b"My private diary mentions a pangolin.")
        assert uploaded.status_code == 201
        doc_url = uploaded.json()["document_url"]
    page = new_page()
    _sign_up(page, _email())
    response = page.goto(doc_url)
    assert response is not None
    assert response.status == 404
    _expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert "pangolin" not in page.content()
    assert_accessible(page)
    screenshot(page, "11-not-found")


def _tab_to(page: Any, predicate: str, limit: int = 40) -> list[str]:
    """Press Tab until ``predicate`` (JS, on document.activeElement) holds; the focus path, for messages."""
    path = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        described = page.evaluate(
            "() => { const e = document.activeElement; const text = (e.textContent || e.name || '').trim();"
            " return `${e.tagName.toLowerCase()}#${e.id}:${text.slice(0, 30)}`; }"
        )
        path.append(described)
        if page.evaluate(f"() => {{ const e = document.activeElement; return Boolean({predicate}); }}"):
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"no visible focus on {described}"
            return path
    raise AssertionError(f"never reached {predicate}: {path}")


def test_upload_and_search_work_with_the_keyboard_alone(new_page: NewPage, screenshot: Shoot) -> None:
    page = new_page()
    page.on("filechooser", lambda chooser: None)  # intercept file choosers from the start, so none races
    _sign_up(page, _email())
    page.goto("/upload")
    first = _tab_to(page, "e.classList.contains('skip-link')", limit=1)
    assert first, "the first Tab stop is the skip link"
    _tab_to(page, "e.id === 'upload-files'")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(
        files=[
            {"name": "tapir.md", "mimeType": "text/markdown", "buffer": b"# Tapirs\n\nThe tapir swims well."}
        ]
    )
    _tab_to(page, "e.tagName === 'BUTTON' && e.textContent.trim() === 'Upload'")
    page.keyboard.press("Enter")
    page.wait_for_function(ALL_PROGRESS_AT_100, arg=1)
    _expect(page.locator("#upload-list .badge-ready")).to_have_count(1, timeout=30_000)

    _tab_to(page, "e.tagName === 'A' && e.textContent.trim() === 'Search'")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search")
    _tab_to(page, "e.id === 'search-q'")
    page.keyboard.type("tapir")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=tapir&type=&sort=relevance")  # the form also sends its filters
    _expect(page.locator("ol.results li")).to_have_count(1)
    _tab_to(page, "e.closest('ol.results') && e.tagName === 'A'")
    screenshot(page, "12-keyboard-focus")
    page.keyboard.press("Enter")
    page.wait_for_url("**/documents/*")
    _expect(page.locator("pre.preview")).to_contain_text("The tapir swims well.")
    screenshot(page, "13-keyboard-document")


def test_everything_but_live_updates_and_progress_works_without_javascript(
    new_page: NewPage, screenshot: Shoot
) -> None:
    page = new_page(java_script_enabled=False)
    _sign_up(page, _email())
    page.set_input_files(
        "#upload-files",
        [
            {"name": "plain.txt", "mimeType": "text/plain", "buffer": b"No script needed for the okapi."},
            {"name": "again.txt", "mimeType": "text/plain", "buffer": b"No script needed for the okapi."},
        ],
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    _expect(page.locator(".upload-item.is-ok")).to_have_count(1)
    duplicate = page.locator(".upload-item.is-failed")
    _expect(duplicate).to_contain_text("You have already uploaded this file.")
    _expect(duplicate.get_by_role("link", name="Open the existing document")).to_be_visible()
    screenshot(page, "14-upload-without-js")
    page.get_by_role("link", name="Open plain").click()
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Yes, delete this document").click()
    page.wait_for_url("**/documents?notice=deleted")
    _expect(page.get_by_role("heading", name="No documents yet")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin?notice=signed-out")
