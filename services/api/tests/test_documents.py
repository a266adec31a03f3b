"""The documents API over real HTTP, without a worker: uploads, limits, listing, downloads, isolation."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
from apikit import bearer, register_and_login
from samples import multipart_body, text_pdf

PROBLEM = "application/problem+json"


@pytest.fixture
def user(api: httpx.Client) -> dict[str, str]:
    return bearer(register_and_login(api)["access_token"])


def _upload(
    api: httpx.Client, headers: dict[str, str], name: str, data: bytes, claimed: str = "text/plain"
) -> httpx.Response:
    return api.post("/api/v1/documents", files={"file": (name, data, claimed)}, headers=headers)


def _counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("documents", "document_blobs", "document_blob_chunks", "jobs")
        }


def test_upload_returns_201_pending_with_location_and_enqueues_one_job(
    api: httpx.Client, user: dict[str, str], clean_db: str
) -> None:
    data = b"# Field notes\n\nThe pangolin sleeps.\n"
    response = _upload(api, user, "notes.md", data, claimed="application/pdf")
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/v1/documents/{body['id']}"
    assert body["status"] == "pending"
    assert body["content_type"] == "text/markdown", "the type comes from the bytes, not the client"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size_bytes"] == len(data)
    assert body["filename"] == "notes.md"
    assert _counts(clean_db) == {"documents": 1, "document_blobs": 1, "document_blob_chunks": 1, "jobs": 1}


def test_types_are_sniffed_from_magic_bytes(api: httpx.Client, user: dict[str, str]) -> None:
    cases = {
        ("scan.txt", text_pdf("hello")): "application/pdf",
        ("page.txt", b"<!DOCTYPE html><html><body>x</body></html>"): "text/html",
        ("data.json", b'{"a": [1, 2]}'): "application/json",
        ("rows.csv", b"a,b\n1,2\n"): "text/csv",
        ("readme", b"just words"): "text/plain",
    }
    for (name, data), expected in cases.items():
        response = _upload(api, user, name, data)
        assert response.status_code == 201, response.text
        assert response.json()["content_type"] == expected, name


def test_binary_data_is_415_and_nothing_is_stored(
    api: httpx.Client, user: dict[str, str], clean_db: str
) -> None:
    response = _upload(api, user, "photo.txt", b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(range(256)) * 10)
    assert response.status_code == 415
    assert response.headers["content-type"].startswith(PROBLEM)
    assert _counts(clean_db) == {"documents": 0, "document_blobs": 0, "document_blob_chunks": 0, "jobs": 0}


def test_empty_file_is_422(api: httpx.Client, user: dict[str, str]) -> None:
    response = _upload(api, user, "empty.txt", b"")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"


def test_upload_over_limit_returns_413_and_stores_nothing(
    serve_api: Callable[..., str], clean_db: str
) -> None:
    base = serve_api(max_upload_bytes=1024 * 1024)
    with httpx.Client(base_url=base, timeout=30) as client:
        headers = bearer(register_and_login(client)["access_token"])
        exact = client.post(
            "/api/v1/documents", files={"file": ("ok.txt", b"a" * (1024 * 1024))}, headers=headers
        )
        assert exact.status_code == 201
        over = client.post(
            "/api/v1/documents", files={"file": ("big.txt", b"b" * (1024 * 1024 + 1))}, headers=headers
        )
        assert over.status_code == 413
        assert over.headers["content-type"].startswith(PROBLEM)

        def chunked() -> Any:  # no Content-Length: the limit must hold while streaming
            body, _ = multipart_body(b"stream.txt", b"c" * (3 * 1024 * 1024))
            for i in range(0, len(body), 65536):
                yield body[i : i + 65536]

        _, content_type = multipart_body(b"x", b"")
        streamed = client.post(
            "/api/v1/documents", content=chunked(), headers={**headers, "content-type": content_type}
        )
        assert streamed.status_code == 413
    assert _counts(clean_db)["documents"] == 1
    assert _counts(clean_db)["document_blobs"] == 1


def test_twenty_megabytes_and_one_byte_is_413_by_default(
    api: httpx.Client, user: dict[str, str], clean_db: str
) -> None:
    response = _upload(api, user, "huge.txt", b"z" * (20 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert _counts(clean_db)["document_blobs"] == 0


def test_same_bytes_twice_is_409_with_the_existing_id(
    api: httpx.Client, user: dict[str, str], clean_db: str
) -> None:
    first = _upload(api, user, "a.txt", b"identical content").json()
    second = _upload(api, user, "renamed.txt", b"identical content")
    assert second.status_code == 409
    assert second.json()["existing_id"] == first["id"]
    assert second.headers["location"] == f"/api/v1/documents/{first['id']}"
    assert _counts(clean_db)["documents"] == 1
    other = bearer(register_and_login(api, "bob@example.com")["access_token"])
    assert _upload(api, other, "a.txt", b"identical content").status_code == 201, "duplicates are per owner"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (b"../../etc/passwd", "passwd"),
        (b"..\\..\\windows\\system.ini", "system.ini"),
        (b"evil\x07na\x1bme.txt", "evilname.txt"),
        (b"/abs/path/.hidden", "hidden"),
        (b"..", "document"),
        ("r\u00e9sum\u00e9 \u2603.md".encode(), "r\u00e9sum\u00e9 \u2603.md"),
    ],
)
def test_filenames_lose_path_parts_and_control_characters(
    api: httpx.Client, user: dict[str, str], raw: bytes, stored: str
) -> None:
    body, content_type = multipart_body(raw, b"content for " + hashlib.sha256(raw).hexdigest().encode())
    response = api.post("/api/v1/documents", content=body, headers={**user, "content-type": content_type})
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == stored


def test_non_multipart_upload_is_415(api: httpx.Client, user: dict[str, str]) -> None:
    response = api.post("/api/v1/documents", content=b"raw", headers={**user, "content-type": "text/plain"})
    assert response.status_code == 415


def test_list_is_newest_first_with_opaque_cursors_and_filters(
    api: httpx.Client, user: dict[str, str]
) -> None:
    ids = [_upload(api, user, f"report-{i}.txt", f"body {i}".encode()).json()["id"] for i in range(5)]
    _upload(api, user, "memo.txt", b"other")
    first = api.get("/api/v1/documents", params={"limit": 2, "q": "report"}, headers=user).json()
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    second = api.get(
        "/api/v1/documents", params={"limit": 2, "q": "REPORT", "cursor": first["next_cursor"]}, headers=user
    ).json()
    third = api.get(
        "/api/v1/documents", params={"limit": 2, "q": "report", "cursor": second["next_cursor"]}, headers=user
    ).json()
    assert [item["id"] for item in second["items"] + third["items"]] == ids[::-1][2:]
    assert third["next_cursor"] is None
    assert api.get("/api/v1/documents", params={"status": "ready"}, headers=user).json()["items"] == []
    assert len(api.get("/api/v1/documents", params={"status": "pending"}, headers=user).json()["items"]) == 6
    like = api.get("/api/v1/documents", params={"q": "%"}, headers=user).json()
    assert like["items"] == [], "LIKE wildcards in q are literal"


def test_bad_list_parameters_are_rejected(api: httpx.Client, user: dict[str, str]) -> None:
    assert api.get("/api/v1/documents", params={"limit": 101}, headers=user).status_code == 422
    assert api.get("/api/v1/documents", params={"limit": 0}, headers=user).status_code == 422
    assert api.get("/api/v1/documents", params={"status": "lost"}, headers=user).status_code == 422
    malformed = api.get("/api/v1/documents", params={"cursor": "not-a-cursor"}, headers=user)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "cursor"
    nul = api.get("/api/v1/documents", params={"q": "a\x00b"}, headers=user)
    assert nul.status_code == 422, "PostgreSQL text cannot hold NUL: refused, not a 500"


def test_every_cursor_the_schema_allows_is_a_position(api: httpx.Client, user: dict[str, str]) -> None:
    _upload(api, user, "only.txt", b"only one")
    for cursor in ("0." + "0" * 32, "99999999999999999." + "f" * 32):
        page = api.get("/api/v1/documents", params={"cursor": cursor}, headers=user)
        assert page.status_code == 200, cursor
    after_all = api.get("/api/v1/documents", params={"cursor": "0." + "0" * 32}, headers=user).json()
    assert after_all == {"items": [], "next_cursor": None}, "nothing is older than the epoch"


def test_download_streams_the_original_with_safe_headers_etag_and_ranges(
    api: httpx.Client, user: dict[str, str]
) -> None:
    data = ("Großes Dokument " * 40000).encode()
    name = 'Grüße "quoted".txt'
    created = _upload(api, user, name, data).json()
    url = f"/api/v1/documents/{created['id']}/content"
    full = api.get(url, headers=user)
    assert full.status_code == 200
    assert full.content == data
    assert full.headers["x-content-type-options"] == "nosniff"
    disposition = full.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Gr__e _quoted_.txt"')
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    etag = full.headers["etag"]
    assert api.get(url, headers={**user, "If-None-Match": etag}).status_code == 304
    part = api.get(url, headers={**user, "Range": "bytes=262140-262150"})
    assert part.status_code == 206
    assert part.content == data[262140:262151], "a range across a chunk boundary"
    assert part.headers["content-range"] == f"bytes 262140-262150/{len(data)}"
    tail = api.get(url, headers={**user, "Range": "bytes=-7"})
    assert tail.content == data[-7:]
    beyond = api.get(url, headers={**user, "Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"


def test_detail_delete_and_reprocess(api: httpx.Client, user: dict[str, str], clean_db: str) -> None:
    created = _upload(api, user, "gone.txt", b"soon deleted").json()
    detail = api.get(f"/api/v1/documents/{created['id']}", headers=user)
    assert detail.status_code == 200
    assert detail.json()["preview"] is None
    with psycopg.connect(clean_db) as conn:  # as the worker leaves it once the first job is done
        conn.execute("UPDATE jobs SET status = 'succeeded'")
        conn.execute("UPDATE documents SET status = 'ready'")
    reprocess = api.post(f"/api/v1/documents/{created['id']}/reprocess", headers=user)
    assert reprocess.status_code == 202
    assert reprocess.json()["status"] == "pending"
    assert api.delete(f"/api/v1/documents/{created['id']}", headers=user).status_code == 204
    assert api.get(f"/api/v1/documents/{created['id']}", headers=user).status_code == 404
    with psycopg.connect(clean_db) as conn:
        kinds = [row[0] for row in conn.execute("SELECT kind FROM jobs ORDER BY id")]
        assert kinds == ["process_document", "process_document", "purge_document"]
        assert conn.execute("SELECT count(*) FROM document_blobs").fetchone() == (1,), "the job purges it"


def test_another_users_document_is_404_everywhere(api: httpx.Client, user: dict[str, str]) -> None:
    created = _upload(api, user, "private.txt", b"mine only").json()
    intruder = bearer(register_and_login(api, "mallory@example.com")["access_token"])
    base = f"/api/v1/documents/{created['id']}"
    for method, url in [
        ("GET", base),
        ("GET", f"{base}/content"),
        ("GET", f"{base}/events"),
        ("POST", f"{base}/reprocess"),
        ("DELETE", base),
    ]:
        response = api.request(method, url, headers=intruder)
        assert response.status_code == 404, (method, url)
        assert response.json()["type"] == "urn:docket:problem:document-not-found"
    assert api.get("/api/v1/documents", headers=intruder).json()["items"] == []
    assert api.get(base, headers=user).status_code == 200


def test_documents_need_a_token(api: httpx.Client) -> None:
    assert api.get("/api/v1/documents").status_code == 401
    assert api.post("/api/v1/documents", files={"file": ("a.txt", b"x")}).status_code == 401


def test_search_rejects_empty_and_overlong_queries(api: httpx.Client, user: dict[str, str]) -> None:
    for q in ["", "   ", "\x1c\u3000", "x" * 201, "nul\x00byte"]:
        response = api.get("/api/v1/search", params={"q": q}, headers=user)
        assert response.status_code == 422, repr(q)
        assert response.headers["content-type"].startswith(PROBLEM)
    assert api.get("/api/v1/search", headers=user).status_code in (400, 422)


def test_search_cursors_are_offsets_the_schema_states(api: httpx.Client, user: dict[str, str]) -> None:
    assert api.get("/api/v1/search", params={"q": "x", "cursor": "9999"}, headers=user).status_code == 200
    for cursor in ("10000", "-1", "abc", "1\n"):
        response = api.get("/api/v1/search", params={"q": "x", "cursor": cursor}, headers=user)
        assert response.status_code == 422, repr(cursor)
