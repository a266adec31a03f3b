"""``GET /api/v1/documents/{id}`` with ``If-None-Match``, over real HTTP: a current tag is a 304 with the
200's caching headers, every change a reader can see makes a new tag, access is decided before any tag is
compared, and the 304 is answered without reading the document's large columns."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import psycopg
import pytest
from apikit import bearer
from teamkit import Person, create_workspace, join, person, personal_token, upload

CACHING = ("etag", "cache-control", "vary")


def _doc(api: httpx.Client, who: Person, workspace: str | None = None, data: bytes = b"field notes") -> str:
    created = upload(api, who, workspace, data)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _get(api: httpx.Client, headers: dict[str, str], doc: str, etag: str | None = None) -> httpx.Response:
    extra = {"If-None-Match": etag} if etag is not None else {}
    return api.get(f"/api/v1/documents/{doc}", headers={**headers, **extra})


def test_a_current_etag_is_a_304_with_the_200s_caching_headers_and_no_body(
    api: httpx.Client, ada: Person
) -> None:
    doc = _doc(api, ada)
    full = _get(api, ada.headers, doc)
    assert full.status_code == 200
    etag = full.headers["etag"]
    assert etag.startswith('"'), "a strong tag: no W/"
    assert etag.endswith('"')
    assert full.headers["cache-control"] == "private, no-cache"
    assert full.headers["vary"] == "Authorization"
    assert _get(api, ada.headers, doc).headers["etag"] == etag, "the same version, the same tag"
    for header in (etag, f"W/{etag}", f'"elsewhere", {etag}', "*"):
        cached = _get(api, ada.headers, doc, header)
        assert cached.status_code == 304, header
        assert cached.content == b""
        assert {h: cached.headers[h] for h in CACHING} == {h: full.headers[h] for h in CACHING}
    for header in ('"elsewhere"', etag[1:-1], f"{etag}x", "", "garbage,,  ,"):
        again = _get(api, ada.headers, doc, header)
        assert again.status_code == 200, header
        assert again.json() == full.json()


def _set(database_url: str, doc: str, assignments: str, *params: object) -> None:
    """An UPDATE of the document's row, as the worker or another release would write it."""
    with psycopg.connect(database_url) as conn:
        conn.execute(f"UPDATE documents SET {assignments} WHERE id = %s", (*params, doc))


def test_every_change_a_reader_can_see_makes_a_new_etag(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    doc = _doc(api, ada)
    team = create_workspace(api, ada)
    changes: list[tuple[str, Callable[[], None]]] = [
        ("title", lambda: _patch(api, ada, doc, {"title": "Budget"})),
        ("tags", lambda: _patch(api, ada, doc, {"tags": ["q3"]})),
        ("tags again", lambda: _patch(api, ada, doc, {"tags": ["q3", "Board"]})),
        ("status", lambda: _set(clean_db, doc, "status = 'ready'")),
        ("reprocess", lambda: _reprocess(api, ada, clean_db, doc)),
        # what the worker writes: the text (the preview), counts, a notice, the thumbnail
        ("text", lambda: _set(clean_db, doc, "extracted_text = 'the budget'")),
        ("counts", lambda: _set(clean_db, doc, "word_count = 2")),
        ("notice", lambda: _set(clean_db, doc, "processing_notice = 'OCR'")),
        ("thumbnail", lambda: _set(clean_db, doc, "thumbnail_etag = '\"t\"'")),
        ("workspace", lambda: _set(clean_db, doc, "workspace_id = %s", team)),
        # a change in the same microsecond as the last one (or under a clock stepped back): updated_at
        # alone would not tell the versions apart
        ("same updated_at", lambda: _set(clean_db, doc, "title = 'Same instant', updated_at = updated_at")),
    ]
    seen = {_get(api, ada.headers, doc).headers["etag"]}
    before = _get(api, ada.headers, doc)
    for what, change in changes:
        change()
        stale = _get(api, ada.headers, doc, before.headers["etag"])
        assert stale.status_code == 200, what
        assert stale.headers["etag"] not in seen, what
        seen.add(stale.headers["etag"])
        assert stale.json() == _get(api, ada.headers, doc).json(), what
        assert _get(api, ada.headers, doc, stale.headers["etag"]).status_code == 304, what
        before = stale
    final = before.json()
    assert (final["title"], final["tags"], final["preview"], final["thumbnail_etag"]) == (
        "Same instant",
        ["Board", "q3"],
        "the budget",
        '"t"',
    )
    assert final["workspace_id"] == team


def _patch(api: httpx.Client, who: Person, doc: str, body: dict[str, object]) -> None:
    response = api.patch(f"/api/v1/documents/{doc}", json=body, headers=who.headers)
    assert response.status_code == 200, response.text


def _reprocess(api: httpx.Client, who: Person, database_url: str, doc: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE jobs SET status = 'succeeded'")
    response = api.post(f"/api/v1/documents/{doc}/reprocess", headers=who.headers)
    assert response.status_code == 202, response.text


def test_access_is_decided_before_the_etag_so_a_stranger_learns_nothing_from_one(
    api: httpx.Client, ada: Person, bob: Person
) -> None:
    # A 304 for a tag would tell a stranger that the document exists and is still at the version they
    # saw (a leaked tag, or one kept from when they were a member); they get the 404 of a missing id.
    team = create_workspace(api, ada)
    doc = _doc(api, ada, team)
    join(api, ada, bob, team, "viewer")
    shared = _get(api, bob.headers, doc)
    assert shared.status_code == 200
    etag = shared.headers["etag"]
    assert _get(api, bob.headers, doc, etag).status_code == 304
    removed = api.delete(f"/api/v1/workspaces/{team}/members/{bob.id}", headers=ada.headers)
    assert removed.status_code == 204
    nothing = _get(api, bob.headers, str(uuid.uuid4()), etag)
    for header in (etag, "*"):
        kept = _get(api, bob.headers, doc, header)
        assert kept.status_code == nothing.status_code == 404, header
        assert kept.json()["type"] == nothing.json()["type"] == "urn:docket:problem:document-not-found"
        assert "etag" not in kept.headers
    mallory = person(api, "mallory@example.com")
    assert _get(api, mallory.headers, doc, etag).status_code == 404
    # a token of Ada's without documents:read is refused as it would be without the header
    writer = bearer(personal_token(api, ada, ["documents:write"])["token"])
    assert _get(api, writer, doc, etag).status_code == _get(api, writer, doc).status_code == 403
    assert _get(api, {}, doc, etag).status_code == 401


def test_a_304_never_reads_the_large_columns(
    serve_api: Callable[..., str], restricted_url: str, clean_db: str
) -> None:
    # The API answering here connects as a role that may not read the text, the search vector, the
    # file's bytes or the thumbnail: any statement naming one of them fails, so the 304 below proves the
    # conditional path never reads them.
    full_url = serve_api()
    narrow_url = serve_api(database_url=restricted_url)
    with httpx.Client(base_url=full_url, timeout=10) as full:
        ada = person(full, "ada@example.com")
        doc = _doc(full, ada, data=b"a long text " * 10_000)
        _set(clean_db, doc, "extracted_text = repeat('words ', 100000)")
        etag = _get(full, ada.headers, doc).headers["etag"]
    with psycopg.connect(restricted_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT extracted_text FROM documents").fetchall()
    with httpx.Client(base_url=narrow_url, timeout=10) as narrow:
        cached = _get(narrow, ada.headers, doc, etag)
        assert cached.status_code == 304, cached.text
        assert cached.headers["etag"] == etag
        assert _get(narrow, ada.headers, doc, '"elsewhere"').status_code == 500, "the 200 reads the text"


NOT_READ = {
    "documents": ["extracted_text", "search"],
    "document_blob_chunks": None,
    "document_thumbnails": None,
}


@pytest.fixture
def restricted_url(clean_db: str) -> str:
    """The test database as a role that may do everything except read the large columns."""
    role = f"narrow_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'narrow'")
        conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        for table, columns in NOT_READ.items():
            conn.execute(f"REVOKE SELECT ON {table} FROM {role}")
            if columns is None:
                continue
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                    "AND NOT attisdropped",
                    (table,),
                )
                if row[0] not in columns
            ]
            names.append("xmin")  # a system column: the row's version
            conn.execute(f"GRANT SELECT ({', '.join(names)}) ON {table} TO {role}")
    return psycopg.conninfo.make_conninfo(clean_db, user=role, password="narrow")
