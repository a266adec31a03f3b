"""Documents through the web: upload (with and without the script), list, page, download, delete, events."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
import redis
from samples import text_pdf
from webkit import Browser

from docket_core.contracts import StatusEvent, document_events_channel, encode_status_event
from docket_web.pages.search import safe_snippet

Serve = Callable[..., str]
LIMIT = 200_000
DOC_LINK = re.compile(r'href="/documents/([0-9a-f-]{36})"')


@pytest.fixture
def small(serve_api: Serve, serve_web: Serve) -> Iterator[Browser]:
    """A signed-in browser on a web and API that accept files up to 200 kB."""
    web = serve_web(serve_api(max_upload_bytes=LIMIT), max_upload_bytes=LIMIT)
    with Browser(web) as browser:
        browser.sign_up()
        yield browser


def _upload_one(browser: Browser, name: str, body: bytes) -> str:
    response = browser.upload_streamed(name, body)
    assert response.status_code == 201, response.text
    return str(response.json()["document_id"])


def test_the_form_upload_reports_each_file_inline(small: Browser) -> None:
    first = small.upload(("notes.md", b"# Notes\n\nThe quetzal sings."))
    assert first.status_code == 200
    existing = DOC_LINK.search(first.text)
    assert existing
    response = small.upload(
        ("report.pdf", text_pdf("Quarterly figures")),
        ("again.md", b"# Notes\n\nThe quetzal sings."),
        ("program.exe", b"MZ\x90\x00" + bytes(range(256)) * 8),
        ("huge.txt", b"x" * (LIMIT + 1)),
    )
    assert response.status_code == 200
    items = response.text.split('<li class="upload-item')[1:]
    assert len(items) == 4
    assert "is-ok" in items[0]
    assert "Uploaded." in items[0]
    assert "report.pdf" in items[0]
    assert "You have already uploaded this file." in items[1]
    assert f'href="/documents/{existing.group(1)}">Open the existing document' in items[1]
    assert "Docket cannot read this type of file" in items[2]
    assert "This file is larger than the 195.3 KB limit." in items[3]


def test_a_full_quota_is_said_beside_the_file_not_as_an_error_page(
    serve_api: Serve, serve_web: Serve
) -> None:
    with Browser(serve_web(serve_api(quota_documents=1))) as browser:
        browser.sign_up()
        response = browser.upload(("one.txt", b"The first okapi."), ("two.txt", b"The second okapi."))
        assert response.status_code == 200
        items = response.text.split('<li class="upload-item')[1:]
        assert "Uploaded." in items[0]
        assert "is-ok" not in items[1]
        assert "delete some to upload more." in items[1], items[1]
        scripted = browser.upload_streamed("three.txt", b"The third okapi.")
        assert scripted.status_code == 403
        assert scripted.json()["kind"] == "quota"
        assert scripted.json()["ok"] is False


def test_the_form_upload_without_a_file_asks_for_one(small: Browser) -> None:
    token = small.csrf_token("/upload")
    response = small.post("/upload", data={"_csrf_token": token}, files={"file": ("", b"")})
    assert response.status_code == 400
    assert "Choose one or more files" in response.text


def test_a_form_with_more_files_than_allowed_stops_at_the_extra_one(
    serve_api: Serve, serve_web: Serve, clean_db: str
) -> None:
    with Browser(serve_web(serve_api(), upload_max_files=2)) as browser:
        browser.sign_up()
        response = browser.upload(
            ("a.txt", b"the first"), ("b.txt", b"the second"), ("c.txt", b"one too many")
        )
    assert response.status_code == 400
    assert "Upload at most 2 files at a time; the files after those were not uploaded." in response.text
    items = response.text.split('<li class="upload-item')[1:]
    assert len(items) == 2
    assert "a.txt" in items[0]
    assert "b.txt" in items[1]
    with psycopg.connect(clean_db) as conn:
        titles = {row[0] for row in conn.execute("SELECT filename FROM documents")}
    assert titles == {"a.txt", "b.txt"}


def test_the_scripted_upload_streams_one_file_and_answers_json(small: Browser) -> None:
    created = small.upload_streamed("plan.txt", b"A plan with a capybara.")
    assert created.status_code == 201
    body = created.json()
    assert body["ok"] is True
    assert body["document_status"] == "pending"
    assert body["document_url"] == f"/documents/{body['document_id']}"
    duplicate = small.upload_streamed("copy.txt", b"A plan with a capybara.")
    assert duplicate.status_code == 409
    assert duplicate.json()["existing_url"] == body["document_url"]
    wrong = small.upload_streamed("bin.exe", b"MZ\x90\x00" + bytes(range(256)) * 8)
    assert wrong.status_code == 415
    assert "cannot read this type" in wrong.json()["message"]
    large = small.upload_streamed("big.txt", b"y" * (LIMIT + 70_000))
    assert large.status_code == 413
    assert large.json()["kind"] == "too-large"
    empty = small.upload_streamed("empty.txt", b"")
    assert empty.status_code == 422
    assert "empty" in empty.json()["message"]


def test_the_document_page_shows_metadata_and_the_download_keeps_name_and_bytes(small: Browser) -> None:
    body = "Ein Bericht über Ölpreise.\n".encode() * 40
    doc_id = _upload_one(small, "Bericht über Öl.txt", body)
    page = small.get(f"/documents/{doc_id}")
    assert page.status_code == 200
    assert "Bericht über Öl.txt" in page.text
    assert f'href="/documents/{doc_id}/download"' in page.text
    assert "Pending" in page.text
    download = small.get(f"/documents/{doc_id}/download")
    assert download.status_code == 200
    assert download.content == body
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Bericht%20%C3%BCber%20%C3%96l.txt" in disposition
    assert download.headers["content-length"] == str(len(body))
    assert download.headers["content-type"].startswith("text/plain")
    assert "sandbox" in download.headers["content-security-policy"]
    ranged = small.get(f"/documents/{doc_id}/download", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206
    assert ranged.content == body[:10]
    assert ranged.headers["content-range"] == f"bytes 0-9/{len(body)}"
    cached = small.get(f"/documents/{doc_id}/download", headers={"If-None-Match": download.headers["etag"]})
    assert cached.status_code == 304


def test_delete_asks_for_confirmation_then_deletes(small: Browser) -> None:
    doc_id = _upload_one(small, "old.txt", b"Obsolete notes about a narwhal.")
    confirm = small.get(f"/documents/{doc_id}/delete")
    assert confirm.status_code == 200
    assert "Delete “old”?" in confirm.text
    assert f'action="/documents/{doc_id}/delete"' in confirm.text
    assert small.get(f"/documents/{doc_id}").status_code == 200, "looking at the question deletes nothing"
    token = small.csrf_token(f"/documents/{doc_id}/delete")
    deleted = small.post(f"/documents/{doc_id}/delete", data={"_csrf_token": token})
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/documents?notice=deleted"
    assert "The document was deleted." in small.get("/documents?notice=deleted").text
    gone = small.get(f"/documents/{doc_id}")
    assert gone.status_code == 404
    assert "Page not found" in gone.text


def test_another_users_document_and_unknown_pages_are_friendly_404s(
    serve_api: Serve, serve_web: Serve
) -> None:
    web = serve_web(serve_api())
    with Browser(web) as owner, Browser(web) as other:
        owner.sign_up("owner@example.com")
        doc_id = _upload_one(owner, "private.txt", b"Owner's secret about a pangolin.")
        other.sign_up("other@example.com")
        for path in (f"/documents/{doc_id}", f"/documents/{doc_id}/download", f"/documents/{doc_id}/delete"):
            response = other.get(path)
            assert response.status_code == 404, path
            assert "Page not found" in response.text
            assert "pangolin" not in response.text
        token = other.csrf_token("/documents")
        assert other.post(f"/documents/{doc_id}/delete", data={"_csrf_token": token}).status_code == 404
        assert owner.get(f"/documents/{doc_id}").status_code == 200, "still there for its owner"
        missing = other.get("/no/such/page")
        assert missing.status_code == 404
        assert "Page not found" in missing.text
        assert other.get("/documents/not-a-uuid").status_code == 404


def test_the_list_pages_older_and_newer_and_filters(small: Browser) -> None:
    for i in range(23):
        _upload_one(small, f"memo-{i:02d}.txt", f"Memo number {i}".encode())
    _upload_one(small, "agenda.txt", b"The agenda.")
    first = small.get("/documents")
    titles = re.findall(r'<th scope="row"><a href="/documents/[^"]+">([^<]+)</a>', first.text)
    assert len(titles) == 20
    assert titles[0] == "agenda"
    assert 'rel="prev"' not in first.text
    older = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert older
    second = small.get(older.group(1).replace("&amp;", "&"))
    second_titles = re.findall(r'<th scope="row"><a href="/documents/[^"]+">([^<]+)</a>', second.text)
    assert len(second_titles) == 4
    assert not set(second_titles) & set(titles)
    assert 'rel="next"' not in second.text
    newer = re.search(r'href="([^"]+)" rel="prev"', second.text)
    assert newer
    back = small.get(newer.group(1).replace("&amp;", "&"))
    assert re.findall(r'<th scope="row"><a href="/documents/[^"]+">([^<]+)</a>', back.text) == titles
    filtered = small.get("/documents?q=agen&status=pending")
    assert re.findall(r'<th scope="row"><a href="/documents/[^"]+">([^<]+)</a>', filtered.text) == ["agenda"]
    assert small.get("/documents?status=ready").text.count("Nothing matches these filters") == 1
    assert small.get("/documents?status=bogus").status_code == 400


def test_the_event_stream_forwards_status_changes_then_ends(small: Browser, clean_redis: str) -> None:
    doc_id = _upload_one(small, "live.txt", b"Live status of a tapir.")
    frames: list[tuple[str, str]] = []
    first = threading.Event()

    def listen() -> None:
        with small.stream("GET", f"/events?id={doc_id}", headers={"Accept": "text/event-stream"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            event = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    frames.append((event, line[5:].strip()))
                    first.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert first.wait(10), "no first event"
    publisher = redis.Redis.from_url(clean_redis)
    channel = document_events_channel(doc_id)
    for status in ("processing", "ready"):
        publisher.publish(channel, encode_status_event(StatusEvent(uuid.UUID(doc_id), status)))
    publisher.close()
    listener.join(15)
    assert not listener.is_alive(), "the stream must end once the document is final"
    assert [(event, json.loads(data).get("status")) for event, data in frames] == [
        ("status", "pending"),
        ("status", "processing"),
        ("status", "ready"),
        ("end", None),
    ]


def test_the_event_stream_needs_a_session_and_sane_ids(stack: Browser) -> None:
    assert stack.get("/events?id=8d3c7b9e-8f4e-4c8e-9a34-9b8e2d1f0a11").status_code == 303
    stack.sign_up()
    assert stack.get("/events").status_code == 400
    assert stack.get("/events?id=nope").status_code == 400
    too_many = "&".join(f"id=8d3c7b9e-8f4e-4c8e-9a34-{i:012d}" for i in range(51))
    assert stack.get(f"/events?{too_many}").status_code == 400


def test_search_without_hits_explains_what_to_try(small: Browser) -> None:
    empty = small.get("/search")
    assert empty.status_code == 200
    assert 'role="search"' in empty.text
    assert '<label for="search-q">' in empty.text
    none = small.get("/search?q=zeppelin")
    assert none.status_code == 200
    assert "No documents match “zeppelin”" in none.text
    assert "Check the spelling" in none.text
    assert 'href="/documents?q=zeppelin"' in none.text


def test_search_snippets_keep_only_the_mark_tags() -> None:
    assert str(safe_snippet("a <mark>okapi</mark> &amp; &lt;b&gt;")) == "a <mark>okapi</mark> &amp; &lt;b&gt;"
    assert str(safe_snippet("<img src=x onerror=alert(1)><mark>x</mark>")) == (
        "&lt;img src=x onerror=alert(1)&gt;<mark>x</mark>"
    )
    assert "\x00" not in str(safe_snippet("\x00mark-open\x00"))
    assert "<script" not in str(safe_snippet("&lt;script&gt;"))


def test_a_signed_out_visitor_is_sent_to_sign_in(stack: Browser) -> None:
    for path in ("/documents", "/upload", "/search?q=a", "/documents/8d3c7b9e-8f4e-4c8e-9a34-9b8e2d1f0a11"):
        response = stack.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/signin?next=")
    assert stack.get("/").status_code == 200
    scripted = stack.post(
        "/upload",
        files={"file": ("a.txt", b"x")},
        headers={"X-CSRFToken": stack.csrf_token("/signin"), "Accept": "application/json"},
    )
    assert scripted.status_code == 401
    assert httpx.get(f"{stack.management}/metrics").status_code == 200


def test_process_again_queues_the_document_and_returns_to_its_page(small: Browser, clean_db: str) -> None:
    doc_id = _upload_one(small, "again.txt", b"Run the pipeline once more for the axolotl.")
    with psycopg.connect(clean_db) as conn:  # as a worker leaves it: the API queues nothing while it runs
        conn.execute("UPDATE jobs SET status = 'succeeded'")
        conn.execute("UPDATE documents SET status = 'ready'")
    token = small.csrf_token(f"/documents/{doc_id}")
    response = small.post(f"/documents/{doc_id}/reprocess", data={"_csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == f"/documents/{doc_id}"
    assert "Pending" in small.get(f"/documents/{doc_id}").text


def _store_thumbnail(database_url: str, doc_id: str) -> bytes:
    """What the worker stores for a document with a first page, through the same table module."""
    import asyncio
    import io

    from PIL import Image

    from docket_core.tables import thumbnails

    buffer = io.BytesIO()
    Image.new("RGB", (320, 414), "white").save(buffer, format="WEBP")
    webp = buffer.getvalue()

    async def put() -> None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn, conn.transaction():
            await thumbnails.put(conn, uuid.UUID(doc_id), webp)

    asyncio.run(put())
    return webp


def test_the_list_and_page_show_a_thumbnail_or_else_the_type_icon(small: Browser, clean_db: str) -> None:
    pdf = _upload_one(small, "report.pdf", text_pdf("A report with a first page"))
    text = _upload_one(small, "notes.txt", b"Plain notes have no first page.")
    webp = _store_thumbnail(clean_db, pdf)

    listing = small.get("/documents").text
    thumb = re.search(
        rf'<img class="thumb thumb-48" src="(/documents/{pdf}/thumbnail\?v=[0-9a-f]+)"', listing
    )
    assert thumb, "the PDF shows its thumbnail"
    assert f"/documents/{text}/thumbnail" not in listing, "the text file has none..."
    assert 'class="thumb thumb-48 type-icon" data-type="TXT"' in listing, "...and shows its type icon"
    page = small.get(f"/documents/{pdf}").text
    assert f'src="/documents/{pdf}/thumbnail?v=' in page
    assert 'data-type="TXT"' in small.get(f"/documents/{text}").text

    image = small.get(thumb.group(1))
    assert image.status_code == 200
    assert image.content == webp
    assert image.headers["content-type"] == "image/webp"
    assert "max-age=31536000" in image.headers["cache-control"]
    again = small.get(thumb.group(1), headers={"If-None-Match": image.headers["etag"]})
    assert again.status_code == 304
    assert small.get(f"/documents/{text}/thumbnail").status_code == 404


def test_search_offers_type_and_order_and_keeps_them_across_pages(small: Browser) -> None:
    page = small.get("/search", params={"q": "kube*", "type": "application/pdf", "sort": "date"})
    assert page.status_code == 200
    assert '<option value="application/pdf" selected>PDF</option>' in page.text
    assert '<option value="date" selected>Newest first</option>' in page.text
    assert "word* for words that start with it" in page.text
    assert small.get("/search", params={"q": "x", "type": "application/x-evil"}).status_code == 400


def test_search_with_a_type_filter_asks_the_api_for_that_type(small: Browser, clean_db: str) -> None:
    doc_id = _upload_one(small, "k8s.md", b"# Notes\n\nKubernetes rolls the pods.\n")
    with psycopg.connect(clean_db) as conn:  # as the worker leaves a ready document
        conn.execute(
            "UPDATE documents SET status = 'ready', extracted_text = 'Kubernetes rolls the pods.', "
            "search = to_tsvector('english', 'Kubernetes rolls the pods.')"
        )
    assert doc_id in small.get("/search", params={"q": "kube*", "type": "text/markdown"}).text
    assert doc_id not in small.get("/search", params={"q": "kube*", "type": "application/pdf"}).text
    assert doc_id in small.get("/search", params={"q": "kube*"}).text
