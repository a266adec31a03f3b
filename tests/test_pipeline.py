"""Upload → worker → search, end to end with real worker processes, crashes and hostile files."""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from apikit import api_settings, bearer, register_and_login, signed_in_api
from office_samples import docx_file, docx_with_thumbnail, odp_file, ods_file, odt_file, pptx_file, xlsx_file
from samples import encrypted_pdf, flate_bomb_pdf, nested_bomb_pdf, text_pdf, truncated_pdf
from scan_samples import image_only_pdf, long_scan_pdf, png_scan
from servers import cli, worker_process

from docket_core.contracts import decode_status_event
from docket_worker.processing.ocr import library_found as ocr_installed

FINAL = {"ready", "failed"}


@pytest.fixture
def api(clean_db: str, clean_redis: str) -> Iterator[httpx.Client]:
    # one account uploads from 20 clients at once (QUOTA_UPLOADS_IN_FLIGHT is 4 by default)
    with signed_in_api(api_settings(clean_db, clean_redis, quota_uploads_in_flight=20)) as client:
        yield client


StartWorker = Callable[..., contextlib.AbstractContextManager[subprocess.Popen[bytes]]]


@pytest.fixture
def worker(clean_db: str, clean_redis: str) -> StartWorker:
    """Start `docket-worker run` as a real process; keyword arguments become its environment."""
    return functools.partial(worker_process, clean_db, clean_redis, WORKER_EXTRACT_TIMEOUT_SECONDS="20")


def _upload(api: httpx.Client, name: str, data: bytes) -> str:
    response = api.post("/api/v1/documents", files={"file": (name, data)})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _wait_final(api: httpx.Client, ids: list[str], timeout: float = 60) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        docs = {doc_id: api.get(f"/api/v1/documents/{doc_id}").json() for doc_id in ids}
        if all(doc["status"] in FINAL for doc in docs.values()):
            return docs
        if time.monotonic() > deadline:
            raise AssertionError(f"not final after {timeout}s: { {k: v['status'] for k, v in docs.items()} }")
        time.sleep(0.1)


def _search_ids(api: httpx.Client, q: str) -> list[str]:
    response = api.get("/api/v1/search", params={"q": q})
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["items"]]


def _sse_statuses(api: httpx.Client, doc_id: str, collected: list[str], ready: threading.Event) -> None:
    with api.stream("GET", f"/api/v1/documents/{doc_id}/events", timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data:"):
                collected.append(decode_status_event(line[5:]).status)
                ready.set()


def test_pdf_markdown_and_html_become_searchable_and_sse_shows_each_step(
    api: httpx.Client, worker: StartWorker
) -> None:
    ids = {
        "pdf": _upload(api, "report.pdf", text_pdf("Quarterly figures mention the xylophonist", title="Q3")),
        "md": _upload(api, "notes.md", b"# Trip notes\n\nWe met a friendly quetzal near the river.\n"),
        "html": _upload(
            api,
            "page.html",
            b"<html><head><title>Zoo</title><script>var axolotl=1</script>"
            b"</head><body><p>The okapi is shy.</p></body></html>",
        ),
    }
    statuses: list[str] = []
    subscribed = threading.Event()
    listener = threading.Thread(
        target=_sse_statuses, args=(api, ids["pdf"], statuses, subscribed), daemon=True
    )
    listener.start()
    assert subscribed.wait(10)
    with worker():
        docs = _wait_final(api, list(ids.values()))
        listener.join(20)
    assert {name: docs[doc_id]["status"] for name, doc_id in ids.items()} == dict.fromkeys(ids, "ready")
    assert statuses == ["pending", "processing", "ready"], "the stream ends at the final state"
    assert docs[ids["pdf"]]["page_count"] == 1
    assert docs[ids["pdf"]]["title"] == "Q3"
    assert docs[ids["md"]]["title"] == "Trip notes"
    assert docs[ids["html"]]["title"] == "Zoo"
    assert _search_ids(api, "xylophonist") == [ids["pdf"]]
    assert _search_ids(api, "quetzal") == [ids["md"]]
    assert _search_ids(api, "okapi") == [ids["html"]]
    assert _search_ids(api, "axolotl") == [], "script text is not indexed"
    hit = api.get("/api/v1/search", params={"q": "friendly quetzal"}).json()["items"][0]
    assert "<mark>quetzal</mark>" in hit["snippet_html"]


def test_office_files_become_searchable_by_a_word_from_a_table_header_note_and_second_sheet(
    api: httpx.Client, worker: StartWorker
) -> None:
    files = {
        "report.docx": (
            docx_file("Annual body text", "tablegecko", "headertapir"),
            ["tablegecko", "headertapir"],
        ),
        "book.xlsx": (xlsx_file("firstmarmot", "secondlemur"), ["firstmarmot", "secondlemur"]),
        "deck.pptx": (pptx_file("slidebison", "notecoyote"), ["slidebison", "notecoyote"]),
        "minutes.odt": (odt_file("odtbody", "odtcell", "footerferret"), ["odtcell", "footerferret"]),
        "sheet.ods": (ods_file("odsfirst", "secondjackal"), ["secondjackal"]),
        "talk.odp": (odp_file("slidehyena", "notemongoose"), ["slidehyena", "notemongoose"]),
    }
    ids = {name: _upload(api, name, data) for name, (data, _) in files.items()}
    with worker():
        docs = _wait_final(api, list(ids.values()))
    for name, doc_id in ids.items():
        assert docs[doc_id]["status"] == "ready", (name, docs[doc_id])
        for word in files[name][1]:
            assert _search_ids(api, word) == [doc_id], f"{word!r} from {name}"
    assert docs[ids["book.xlsx"]]["page_count"] == 2, "an Excel file counts its sheets"
    assert docs[ids["deck.pptx"]]["page_count"] == 2, "a PowerPoint file counts its slides"


def test_text_in_latin_1_windows_1252_and_utf_16_is_searchable_by_an_accented_word(
    api: httpx.Client, worker: StartWorker, clean_db: str
) -> None:
    files = {
        "latin1.txt": ("Le pâtissier prépare une tarte.\n".encode("latin-1"), "pâtissier", "cp1252"),
        "windows.txt": ("Die “Bäckerei” öffnet um 7, täglich.\n".encode("cp1252"), "Bäckerei", "cp1252"),
        "utf16.txt": ("\ufeffEl señor pidió un café.\n".encode("utf-16-le"), "señor", "utf-16-le"),
    }
    ids = {name: _upload(api, name, data) for name, (data, _, _) in files.items()}
    with worker():
        docs = _wait_final(api, list(ids.values()))
    for name, (_, word, encoding) in files.items():
        document = docs[ids[name]]
        assert document["status"] == "ready", (name, document)
        assert document["text_encoding"] == encoding, name
        assert _search_ids(api, word) == [ids[name]], f"{word!r} from {name}"


def _ocr_pages_counted(worker: subprocess.Popen[bytes]) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"http://127.0.0.1:{worker.port}/metrics", timeout=10).text  # type: ignore[attr-defined]
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "docket_ocr_pages_total"
    )


@pytest.mark.skipif(
    not ocr_installed(), reason="libtesseract is not installed (apt-get install tesseract-ocr)"
)
def test_scans_are_read_by_ocr_a_digital_pdf_is_not_and_a_long_scan_stops_at_ocr_max_pages(
    api: httpx.Client, worker: StartWorker
) -> None:
    with worker(OCR_MAX_PAGES="3") as process:
        digital = _upload(api, "digital.pdf", text_pdf("A born-digital memo about beavers"))
        _wait_final(api, [digital])
        assert _search_ids(api, "beavers") == [digital]
        assert _ocr_pages_counted(process) == 0, "a PDF with a text layer is never OCRed"

        scans = {
            "photo.png": _upload(api, "photo.png", png_scan(["Receipt from the chandlery", "two anchors"])),
            "scan.pdf": _upload(api, "scan.pdf", image_only_pdf([["Deed of the orchard"], ["signed by"]])),
            "archive.pdf": _upload(api, "archive.pdf", long_scan_pdf(200)),
        }
        docs = _wait_final(api, list(scans.values()), timeout=120)
        assert {name: docs[doc_id]["status"] for name, doc_id in scans.items()} == dict.fromkeys(
            scans, "ready"
        )
        assert _search_ids(api, "chandlery") == [scans["photo.png"]]
        assert _search_ids(api, "orchard") == [scans["scan.pdf"]]
        assert _search_ids(api, "archive") == [scans["archive.pdf"]]
        notice = docs[scans["archive.pdf"]]["processing_notice"]
        assert notice is not None
        assert "first 3 of 200 scanned pages" in notice, notice
        assert docs[scans["scan.pdf"]]["processing_notice"] is None
        assert _ocr_pages_counted(process) == 1 + 2 + 3


def test_thumbnails_for_a_pdf_a_png_and_a_docx_none_for_text_and_only_for_the_owner(
    api: httpx.Client, worker: StartWorker
) -> None:
    ids = {
        "pdf": _upload(api, "report.pdf", text_pdf("A report with a first page")),
        "png": _upload(api, "scan.png", png_scan(["A scanned note"])),
        "docx": _upload(api, "letter.docx", docx_with_thumbnail("A letter with a preview")),
        "text": _upload(api, "notes.txt", b"Plain notes have no first page to show.\n"),
    }
    with worker(OCR_ENABLED="false"):
        docs = _wait_final(api, list(ids.values()))
    for name in ("pdf", "docx", "text"):
        assert docs[ids[name]]["status"] == "ready", (name, docs[ids[name]])
    assert docs[ids["png"]]["status"] == "failed", "with OCR off an image has no text"
    assert docs[ids["png"]]["thumbnail_etag"] is None, "a failed document keeps no thumbnail"

    for name in ("pdf", "docx"):
        etag = docs[ids[name]]["thumbnail_etag"]
        assert etag, name
        response = api.get(f"/api/v1/documents/{ids[name]}/thumbnail")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/webp"
        assert response.headers["etag"] == etag
        assert "max-age=31536000" in response.headers["cache-control"]
        assert response.headers["cache-control"].startswith("private")
        assert response.content[:4] == b"RIFF"
        assert response.content[8:12] == b"WEBP"
        again = api.get(f"/api/v1/documents/{ids[name]}/thumbnail", headers={"if-none-match": etag})
        assert again.status_code == 304
        assert again.content == b""

    none = api.get(f"/api/v1/documents/{ids['text']}/thumbnail")
    assert none.status_code == 404
    assert none.json()["type"].endswith("thumbnail-not-found")
    assert docs[ids["text"]]["thumbnail_etag"] is None

    with httpx.Client(base_url=str(api.base_url), timeout=30) as other:
        other.headers.update(bearer(register_and_login(other, "eve@example.com")["access_token"]))
        stolen = other.get(f"/api/v1/documents/{ids['pdf']}/thumbnail")
        assert stolen.status_code == 404, "another account cannot tell the document exists"
        assert stolen.json()["type"].endswith("document-not-found")
    anonymous = httpx.get(str(api.base_url.join(f"/api/v1/documents/{ids['pdf']}/thumbnail")), timeout=30)
    assert anonymous.status_code == 401


@pytest.mark.skipif(
    not ocr_installed(), reason="libtesseract is not installed (apt-get install tesseract-ocr)"
)
def test_an_image_read_by_ocr_has_a_thumbnail(api: httpx.Client, worker: StartWorker) -> None:
    doc_id = _upload(api, "scan.png", png_scan(["A scanned note about herons"]))
    with worker():
        (doc,) = _wait_final(api, [doc_id]).values()
    assert doc["status"] == "ready"
    assert doc["thumbnail_etag"]
    assert api.get(f"/api/v1/documents/{doc_id}/thumbnail").status_code == 200


def test_search_by_prefix_and_phrase_with_type_and_date_filters_and_date_sort(
    api: httpx.Client, worker: StartWorker
) -> None:
    import datetime as dt

    ids = {
        "md": _upload(api, "k8s.md", b"# Cluster notes\n\nKubernetes does a rolling update of the pods.\n"),
        "txt": _upload(api, "ops.txt", b"The update was rolling out slowly; kubectl helped.\n"),
        "pdf": _upload(api, "plan.pdf", text_pdf("Migration plan for the kubelet and a rolling update")),
    }
    with worker():
        docs = _wait_final(api, list(ids.values()))
    assert {doc["status"] for doc in docs.values()} == {"ready"}

    def hits(**params: Any) -> list[str]:
        response = api.get("/api/v1/search", params=params)
        assert response.status_code == 200, response.text
        return [hit["id"] for hit in response.json()["items"]]

    assert sorted(hits(q="kube*")) == sorted(ids.values()), "kubernetes, kubectl, kubelet"
    assert sorted(hits(q='"rolling update"')) == sorted([ids["md"], ids["pdf"]]), "the phrase, in order"
    assert hits(q='"rolling update" kube*', type="text/markdown") == [ids["md"]]
    assert sorted(hits(q="kube*", type=["text/markdown", "application/pdf"])) == sorted(
        [ids["md"], ids["pdf"]]
    )
    today = dt.datetime.now(dt.UTC).date()
    assert sorted(hits(q="kube*", **{"from": str(today), "to": str(today)})) == sorted(ids.values())
    assert hits(q="kube*", **{"from": str(today + dt.timedelta(days=1))}) == []
    assert hits(q="kube*", to=str(today - dt.timedelta(days=1))) == []
    newest_first = sorted(ids.values(), key=lambda doc_id: docs[doc_id]["created_at"], reverse=True)
    assert hits(q="kube*", sort="date") == newest_first
    hit = api.get("/api/v1/search", params={"q": "kube* <script>"}).json()["items"]
    assert all("<script>" not in item["snippet_html"] for item in hit), "highlights stay escaped"

    for hostile in ("kube':* | 'a", "*", "k*", "-kube*", "'\\:*&|!(", "kube* " * 10):
        assert api.get("/api/v1/search", params={"q": hostile}).status_code == 200, hostile
    assert api.get("/api/v1/search", params={"q": "kube* " * 30}).status_code == 422, "at most 10 words"
    assert api.get("/api/v1/search", params={"q": "kube*", "type": "application/x-evil"}).status_code == 422
    assert api.get("/api/v1/search", params={"q": "kube*", "sort": "size"}).status_code == 422
    backwards = api.get("/api/v1/search", params={"q": "kube*", "from": "2025-02-01", "to": "2025-01-01"})
    assert backwards.status_code == 422


def test_search_only_sees_the_owners_documents_and_escapes_snippets(
    api: httpx.Client, worker: StartWorker
) -> None:
    mine = _upload(
        api, "x.html", b"<html><body><p>&lt;img src=x onerror=alert(1)&gt; narwhal</p></body></html>"
    )
    other = httpx.Client(base_url=api.base_url, timeout=30)
    other.headers.update(bearer(register_and_login(other, "eve@example.com")["access_token"]))
    theirs = _upload(other, "y.txt", b"another narwhal story")
    with worker():
        _wait_final(api, [mine])
        _wait_final(other, [theirs])
    assert _search_ids(api, "narwhal") == [mine]
    assert _search_ids(other, "narwhal") == [theirs]
    snippet = api.get("/api/v1/search", params={"q": "narwhal"}).json()["items"][0]["snippet_html"]
    assert "<" not in snippet.replace("<mark>", "").replace("</mark>", ""), snippet
    assert "&gt;" in snippet, "the markup in the text came back escaped"


def test_bad_files_fail_with_a_reason_and_the_worker_stays_up(api: httpx.Client, worker: StartWorker) -> None:
    bad = {
        "encrypted": _upload(api, "locked.pdf", encrypted_pdf("secret")),
        "truncated": _upload(api, "cut.pdf", truncated_pdf("half a document")),
        "nested": _upload(api, "nested.pdf", nested_bomb_pdf()),
        "inflate": _upload(api, "bomb.pdf", flate_bomb_pdf()),
        "binary": _upload(api, "fake.txt", b"plain words " * 1000 + b"\xff\xfe\x00" * 50),
    }
    with worker(WORKER_EXTRACT_MEMORY_MB="512") as process:
        docs = _wait_final(api, list(bad.values()), timeout=120)
        good = _upload(api, "after.txt", b"the worker still works")
        assert _wait_final(api, [good])[good]["status"] == "ready"
        assert httpx.get(f"http://127.0.0.1:{process.port}/healthz").status_code == 200  # type: ignore[attr-defined]
        assert process.poll() is None
    reasons = {name: docs[doc_id]["failure_reason"] for name, doc_id in bad.items()}
    assert all(docs[doc_id]["status"] == "failed" for doc_id in bad.values()), reasons
    assert "encrypted" in reasons["encrypted"]
    assert "UTF-8" in reasons["binary"] or "binary" in reasons["binary"]
    assert all(reason for reason in reasons.values())


def _job_row(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        row = conn.execute("SELECT * FROM jobs WHERE kind = 'process_document'").fetchone()
    assert row is not None
    return row


def _attempts(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT * FROM job_attempts ORDER BY job_id, attempt").fetchall()


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_sigkill_mid_job_another_worker_finishes_it_exactly_once(
    api: httpx.Client, worker: StartWorker, clean_db: str
) -> None:
    doc_id = _upload(api, "crash.md", b"# Crash test\n\nwombat")
    with worker(WORKER_JOB_HOLD_SECONDS="60", WORKER_LEASE_SECONDS="2") as doomed:
        _wait_for(lambda: api.get(f"/api/v1/documents/{doc_id}").json()["status"] == "processing")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    assert _job_row(clean_db)["status"] == "running", "the dead worker's lease still stands"
    with worker(WORKER_LEASE_SECONDS="2"):
        doc = _wait_final(api, [doc_id], timeout=30)[doc_id]
    assert doc["status"] == "ready"
    job = _job_row(clean_db)
    assert job["status"] == "succeeded"
    attempts = _attempts(clean_db)
    assert [a["outcome"] for a in attempts] == [None, "succeeded"], "the killed attempt never finished"
    assert attempts[0]["worker_id"] != attempts[1]["worker_id"]
    assert _search_ids(api, "wombat") == [doc_id]


def test_sigterm_releases_the_lease_at_once(api: httpx.Client, worker: StartWorker, clean_db: str) -> None:
    doc_id = _upload(api, "slow.md", b"# Slow\n\nplatypus")
    with worker(
        WORKER_JOB_HOLD_SECONDS="60", WORKER_LEASE_SECONDS="300", SHUTDOWN_GRACE_SECONDS="1"
    ) as first:
        _wait_for(lambda: api.get(f"/api/v1/documents/{doc_id}").json()["status"] == "processing")
        first.send_signal(signal.SIGTERM)
        assert first.wait(15) == 0
    job = _job_row(clean_db)
    assert job["status"] == "queued"
    assert job["locked_by"] is None
    assert job["attempts"] == 0, "a released attempt is not counted"
    started = time.monotonic()
    with worker():
        assert _wait_final(api, [doc_id], timeout=20)[doc_id]["status"] == "ready"
    assert time.monotonic() - started < 20, "picked up at once, not after the 300 s lease"
    assert [a["outcome"] for a in _attempts(clean_db)] == ["released", "succeeded"]


def test_dead_jobs_are_listed_and_can_be_retried(worker: StartWorker, clean_db: str) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        job_id = conn.execute(
            "INSERT INTO jobs (kind, payload, max_attempts) VALUES ('no_such_kind', '{}', 1) RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
    with worker():
        _wait_for(lambda: _status(clean_db, job_id) == "dead")
    env = {"DATABASE_URL": clean_db, "PATH": "/usr/bin:/bin"}
    listed = subprocess.run(
        [*cli("docket-worker"), "jobs", "--dead"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "no_such_kind" in listed.stdout
    assert "no handler" in listed.stdout
    retried = subprocess.run(
        [*cli("docket-worker"), "jobs", "--retry", str(job_id)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "requeued 1" in retried.stdout
    assert _status(clean_db, job_id) == "queued"


def test_a_malformed_job_payload_is_refused_before_any_handler_runs(
    api: httpx.Client, worker: StartWorker, clean_db: str
) -> None:
    doc_id = _upload(api, "kept.txt", b"nothing should happen to this tapir")
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("DELETE FROM jobs")  # only the hostile job below is left to run
        job_id = conn.execute(
            "INSERT INTO jobs (kind, payload, max_attempts) VALUES ('process_document', %s, 1) RETURNING id",
            (json.dumps({"document_id": "../../etc/passwd"}),),
        ).fetchone()[0]  # type: ignore[index]
    with worker() as process:
        _wait_for(lambda: _status(clean_db, job_id) == "dead")
        assert process.poll() is None, "the worker stays up"
    with psycopg.connect(clean_db) as conn:
        error = conn.execute("SELECT last_error FROM jobs WHERE id = %s", (job_id,)).fetchone()[0]  # type: ignore[index]
    assert error.startswith("MalformedMessageError: malformed ProcessDocument"), error
    assert api.get(f"/api/v1/documents/{doc_id}").json()["status"] == "pending", "no handler touched a row"


def _status(database_url: str, job_id: int) -> str:
    with psycopg.connect(database_url) as conn:
        return str(conn.execute("SELECT status FROM jobs WHERE id = %s", (job_id,)).fetchone()[0])  # type: ignore[index]


@pytest.mark.slow
def test_200_uploads_from_20_clients_with_2_workers_all_ready_and_never_run_twice_at_once(
    api: httpx.Client, worker: StartWorker, clean_db: str
) -> None:
    def upload(i: int) -> str:
        return _upload(api, f"bulk-{i}.txt", f"bulk document number {i} about lemurs".encode())

    with worker(WORKER_CONCURRENCY="4"), worker(WORKER_CONCURRENCY="4"):
        with ThreadPoolExecutor(20) as pool:
            ids = list(pool.map(upload, range(200)))
        docs = _wait_final(api, ids, timeout=120)
    assert all(doc["status"] == "ready" for doc in docs.values())
    attempts = _attempts(clean_db)
    by_job: dict[int, list[dict[str, Any]]] = {}
    for attempt in attempts:
        by_job.setdefault(attempt["job_id"], []).append(attempt)
    assert len(by_job) == 200
    for job_attempts in by_job.values():
        assert [a["outcome"] for a in job_attempts].count("succeeded") == 1
        for earlier, later in itertools.pairwise(job_attempts):
            assert earlier["finished_at"] is not None
            assert later["started_at"] >= earlier["finished_at"], "two attempts overlapped"
    workers = {a["worker_id"] for a in attempts}
    assert len(workers) == 2, "both worker processes took jobs"


def test_worker_exports_job_metrics_and_answers_its_probes(api: httpx.Client, worker: StartWorker) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    ids = [_upload(api, f"m{i}.txt", f"metric sample {i}".encode()) for i in range(3)]
    with worker() as process:
        base = f"http://127.0.0.1:{process.port}"  # type: ignore[attr-defined]
        _wait_final(api, ids)
        assert httpx.get(f"{base}/readyz").json()["checks"] == {"database": "ok", "redis": "ok"}
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(httpx.get(f"{base}/metrics").text)
            for sample in family.samples
        }
    succeeded = ("docket_jobs_total", (("kind", "process_document"), ("outcome", "succeeded")))
    assert samples[succeeded] == 3
    assert samples[("docket_job_duration_seconds_count", (("kind", "process_document"),))] == 3
    assert ("docket_jobs_queue_depth", ()) in samples
    assert ("docket_jobs_oldest_pending_seconds", ()) in samples


def test_delete_removes_the_row_at_once_and_the_worker_purges_the_bytes(
    api: httpx.Client, worker: StartWorker, clean_db: str
) -> None:
    doc_id = _upload(api, "gone.txt", b"bytes that must not outlive their document " * 20000)
    with worker():
        _wait_final(api, [doc_id])
        assert api.delete(f"/api/v1/documents/{doc_id}").status_code == 204
        assert api.get(f"/api/v1/documents/{doc_id}").status_code == 404

        def blobs_left() -> int:
            with psycopg.connect(clean_db) as conn:
                return int(conn.execute("SELECT count(*) FROM document_blob_chunks").fetchone()[0])  # type: ignore[index]

        _wait_for(lambda: blobs_left() == 0)
    assert _search_ids(api, "outlive") == []


def test_search_pages_through_every_hit_once(api: httpx.Client, worker: StartWorker) -> None:
    ids = [_upload(api, f"p{i}.txt", f"paged {i} pelican".encode()) for i in range(5)]
    with worker():
        _wait_final(api, ids)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"q": "pelican", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/search", params=params).json()
        assert len(page["items"]) <= 2
        assert all("<mark>pelican</mark>" in hit["snippet_html"] for hit in page["items"])
        seen += [hit["id"] for hit in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
