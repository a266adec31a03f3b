"""One hostile file of each accepted type cannot stall the worker: uploaded through the real API and
processed by a real ``docket-worker run`` process, against real PostgreSQL and Redis.

While each file is processed, a thread polls the worker's /healthz (as the kubelet would) and every
answer must come within 1 s. Each job ends with the document ``ready``, or ``failed`` with a reason,
within WORKER_EXTRACT_TIMEOUT_SECONDS plus 5 s, in one attempt; and no child outlives its job.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
from apikit import api_settings, bearer, register_and_login, signed_in_api
from embedded_services import free_port
from office_samples import billion_laughs_xlsx, huge_image_pptx, many_entries_docx, zip_bomb_docx
from prometheus_client.parser import text_string_to_metric_families
from samples import flate_bomb_pdf, nested_bomb_pdf, text_pdf
from servers import ThreadedServer, cli, service_process, worker_process

from docket_api.app import create_app

EXTRACT_TIMEOUT_SECONDS = 5
HEALTHZ_BUDGET_SECONDS = 1.0
MiB = 1024 * 1024


@dataclass(frozen=True)
class Hostile:
    filename: str
    make: Callable[[], bytes]
    expected: str  # "ready", or "failed" (with a reason)
    found_by: str = ""  # a word that search must find the ready document by
    reason: str = ""  # words the failure reason must hold, when the file is refused by a check


CORPUS = {
    # the report: a heading whose spaces made the old regex backtrack for minutes (3 KB: 80 s)
    "markdown-heading-with-100kb-of-spaces": Hostile(
        "heading.md", lambda: b" # x" + b" " * 100_000 + b"y\n\nthe quokka stays\n", "ready", "quokka"
    ),
    "html-100000-nested-tags": Hostile(
        "nested.html",
        lambda: b"<html><body>" + b"<div>" * 100_000 + b"deep okapi" + b"</div>" * 100_000,
        "ready",
        "okapi",
    ),
    # html.parser re-scanned an unfinished tag from every "<": hours for this megabyte
    "html-a-million-unfinished-tags": Hostile(
        "unfinished.html", lambda: b"<html>" + b"<a" * 500_000, "failed"
    ),
    "json-nested-100000-deep": Hostile(
        "deep.json", lambda: b'{"wombat":' * 100_000 + b"1" + b"}" * 100_000, "ready", "wombat"
    ),
    "csv-with-one-15mb-field": Hostile(
        "wide.csv", lambda: b'id,notes\n1,"' + b"x" * (15 * MiB) + b'"\n2,numbat\n', "ready", "notes"
    ),
    "text-20mb-on-one-line": Hostile(
        "line.txt", lambda: (b"lorem ipsum dolor sit amet " * 800_000)[:20_000_000], "ready", "lorem"
    ),
    "pdf-nested-200000-deep": Hostile("nested.pdf", nested_bomb_pdf, "failed"),
    "pdf-inflating-to-400mb": Hostile("bomb.pdf", flate_bomb_pdf, "failed"),
    # office containers: each is refused by the archive check before a parser opens it
    "docx-zip-bomb-of-300mb": Hostile("report.docx", zip_bomb_docx, "failed", reason="zip bomb"),
    "xlsx-with-billion-laughs": Hostile("book.xlsx", billion_laughs_xlsx, "failed", reason="document type"),
    "docx-with-100000-entries": Hostile("many.docx", many_entries_docx, "failed", reason="100,018 entries"),
    "pptx-with-a-50000x50000-image": Hostile(
        "slides.pptx", huge_image_pptx, "failed", reason="50,000 x 50,000 pixels"
    ),
}


@dataclass
class Stack:
    api: httpx.Client
    worker: Any  # subprocess.Popen, with .port
    database_url: str


@pytest.fixture(scope="module")
def stack(make_database: Callable[[bool], str], redis_url: str) -> Iterator[Stack]:
    """The real API in a thread and one real worker process, shared by the corpus (each its own job)."""
    database_url = make_database(True)
    limits = {
        "WORKER_EXTRACT_TIMEOUT_SECONDS": str(EXTRACT_TIMEOUT_SECONDS),
        "WORKER_EXTRACT_MEMORY_MB": "512",
    }
    with (
        signed_in_api(api_settings(database_url, redis_url), "mallory@example.com", timeout=60) as api,
        worker_process(database_url, redis_url, **limits) as worker,
    ):
        yield Stack(api, worker, database_url)


@dataclass
class HealthzWatch:
    """Polls /healthz in a thread, a new connection each time as a probe does, and keeps every latency."""

    url: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _poll(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                status = httpx.get(self.url, timeout=10).status_code
                if status != 200:
                    self.failures.append(f"status {status}")
            except httpx.HTTPError as exc:
                self.failures.append(type(exc).__name__)
            self.latencies.append(time.monotonic() - started)
            self._stop.wait(0.05)

    @contextlib.contextmanager
    def running(self) -> Iterator[HealthzWatch]:
        thread = threading.Thread(target=self._poll, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(15)


def _sandbox_outcomes(worker_port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{worker_port}/metrics", timeout=10).text
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "docket_sandbox_outcomes_total"
    }


def _attempts(database_url: str, document_id: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(
            "SELECT a.started_at, a.finished_at, a.outcome FROM job_attempts a "
            "JOIN jobs j ON j.id = a.job_id "
            "WHERE j.kind = 'process_document' AND j.payload->>'document_id' = %s ORDER BY a.attempt",
            (document_id,),
        ).fetchall()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{entry}/stat") as stat:
            if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CORPUS))
def test_a_hostile_file_ends_in_time_while_the_worker_keeps_answering_its_probe(
    stack: Stack, name: str
) -> None:
    hostile = CORPUS[name]
    port: int = stack.worker.port
    before = _sandbox_outcomes(port)
    data = hostile.make()
    uploaded = stack.api.post("/api/v1/documents", files={"file": (hostile.filename, data)})
    assert uploaded.status_code == 201, uploaded.text
    document_id = str(uploaded.json()["id"])

    with HealthzWatch(f"http://127.0.0.1:{port}/healthz").running() as watch:
        deadline = time.monotonic() + EXTRACT_TIMEOUT_SECONDS + 60  # "did not hang": queueing included
        while (document := stack.api.get(f"/api/v1/documents/{document_id}").json())["status"] not in (
            "ready",
            "failed",
        ):
            assert time.monotonic() < deadline, f"{name} is still {document['status']}"
            time.sleep(0.1)

    assert not watch.failures, f"/healthz failed during {name}: {watch.failures}"
    assert watch.latencies, "the probe was never polled"
    assert max(watch.latencies) < HEALTHZ_BUDGET_SECONDS, (
        f"/healthz took {max(watch.latencies):.2f} s during {name}"
    )

    assert document["status"] == hostile.expected, document
    if hostile.expected == "failed":
        assert document["failure_reason"], "a failed document says why"
        assert hostile.reason in document["failure_reason"]
    else:
        hits = stack.api.get("/api/v1/search", params={"q": hostile.found_by}).json()["items"]
        assert document_id in [hit["id"] for hit in hits], f"search for {hostile.found_by!r} missed it"

    (attempt,) = _attempts(stack.database_url, document_id)  # one attempt: a hostile file is not retried
    assert attempt["outcome"] == "succeeded", "the job completes even when the document fails"
    assert attempt["finished_at"] - attempt["started_at"] < timedelta(seconds=EXTRACT_TIMEOUT_SECONDS + 5)

    after = _sandbox_outcomes(port)
    counted = {outcome: after[outcome] - before.get(outcome, 0.0) for outcome in after}
    assert sum(counted.values()) == 1, counted
    if hostile.expected == "ready":
        assert counted["ok"] == 1, counted
    assert stack.worker.poll() is None, "the worker is still running"
    (zygote,) = _children(stack.worker.pid)  # the worker's one child is its zygote...
    with open(f"/proc/{zygote}/cmdline", "rb") as cmdline:
        assert b"docket_worker.processing.zygote" in cmdline.read()
    assert _children(zygote) == [], "...and no file's child outlives its job"


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.slow
def test_sigterm_mid_extraction_kills_the_child_and_releases_the_job(clean_db: str, clean_redis: str) -> None:
    long_pdf = text_pdf(*[f"page {n} of a very long report" for n in range(20_000)])  # pypdf takes a while
    port = free_port()
    env = {
        "PORT": str(port), "DATABASE_URL": clean_db, "REDIS_URL": clean_redis, "LOG_LEVEL": "WARNING",
        "WORKER_EXTRACT_TIMEOUT_SECONDS": "120", "SHUTDOWN_GRACE_SECONDS": "1", "WORKER_LEASE_SECONDS": "300",
    }  # fmt: skip
    with (
        ThreadedServer(create_app(api_settings(clean_db, clean_redis))) as server,
        httpx.Client(base_url=server.url, timeout=60) as api,
    ):
        api.headers.update(bearer(register_and_login(api)["access_token"]))
        uploaded = api.post("/api/v1/documents", files={"file": ("long.pdf", long_pdf)})
        assert uploaded.status_code == 201, uploaded.text
        with service_process([*cli("docket-worker"), "run"], env, port) as worker:
            _wait_for(lambda: len(_children(worker.pid)) == 1)
            (zygote,) = _children(worker.pid)
            _wait_for(lambda: bool(_children(zygote)))  # the file's child is parsing
            (child,) = _children(zygote)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0, "the worker drained and exited cleanly"
        _wait_for(lambda: _gone(child) and _gone(zygote), timeout=10)
    with psycopg.connect(clean_db) as conn:
        status, locked_by = conn.execute("SELECT status, locked_by FROM jobs").fetchone()  # type: ignore[misc]
    assert (status, locked_by) == ("queued", None), "the job was given back, to run again elsewhere"
