"""SEARCH_TEXT_CONFIG: changing it re-indexes every document in the background through the job queue.

Real API (threaded), real `docket-worker run` processes, real PostgreSQL. English stems ("running"
is indexed as "run") and drops stop words; `simple` does neither, so which words find a document tells
which configuration its vector was built with.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from apikit import api_settings, signed_in_api
from embedded_services import free_port
from psycopg.rows import dict_row
from servers import cli, stop_and_read, worker_process

from docket_core.settings import SettingsError, load_settings
from docket_worker.settings import WorkerSettings

TEXTS = {
    "a.txt": "The runners were running along the river.",
    "b.txt": "The swimmers kept swimming across the lake.",
    "c.txt": "Hikers were hiking over the hills.",
}


@pytest.fixture
def api(clean_db: str, clean_redis: str) -> Iterator[httpx.Client]:
    with signed_in_api(api_settings(clean_db, clean_redis)) as client:
        yield client


StartWorker = Callable[..., contextlib.AbstractContextManager[subprocess.Popen[bytes]]]


@pytest.fixture
def worker(clean_db: str, clean_redis: str) -> StartWorker:
    return functools.partial(worker_process, clean_db, clean_redis, LOG_LEVEL="INFO")


def _settings(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        row = conn.execute(
            "SELECT text_config::text AS text_config, previous_config::text AS previous_config, "
            "reindex_total, reindex_done, reindex_finished_at FROM search_settings"
        ).fetchone()
    assert row is not None
    return row


def _upload_all(api: httpx.Client) -> dict[str, str]:
    ids = {}
    for name, text in TEXTS.items():
        response = api.post("/api/v1/documents", files={"file": (name, text.encode(), "text/plain")})
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    deadline = time.monotonic() + 60
    while any(api.get(f"/api/v1/documents/{i}").json()["status"] != "ready" for i in ids.values()):
        assert time.monotonic() < deadline, "the documents never became ready"
        time.sleep(0.1)
    return ids


def _found(api: httpx.Client, q: str) -> set[str]:
    response = api.get("/api/v1/search", params={"q": q})
    assert response.status_code == 200, response.text
    return {hit["id"] for hit in response.json()["items"]}


def _run_search_command(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli("docket-worker"), "search"],
        env={**os.environ, "DATABASE_URL": database_url, "REDIS_URL": "redis://127.0.0.1:1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _search_command(database_url: str) -> str:
    """``docket-worker search``'s output (it exits 0)."""
    done = _run_search_command(database_url)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_reindexed(database_url: str, config: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = _settings(database_url)
        if state["text_config"] == config and state["previous_config"] is None:
            return state
        assert time.monotonic() < deadline, f"the re-index never finished: {state}"
        time.sleep(0.1)


def test_changing_search_text_config_reindexes_every_document_through_the_queue(
    api: httpx.Client, worker: StartWorker, clean_db: str
) -> None:
    with worker():
        ids = _upload_all(api)
    assert _settings(clean_db)["text_config"] == "english"
    assert _found(api, "run") == {ids["a.txt"]}  # english stems
    assert _found(api, "running") == {ids["a.txt"]}
    assert _found(api, "the") == set()  # a stop word in english

    with worker(SEARCH_TEXT_CONFIG="simple") as process:
        state = _wait_reindexed(clean_db, "simple")
        assert _found(api, "run") == set()  # simple does not stem: every vector was rebuilt
        assert _found(api, "running") == {ids["a.txt"]}
        assert _found(api, "the") == set(ids.values())
        highlighted = api.get("/api/v1/search", params={"q": "swimming"}).json()["items"][0]["snippet_html"]
        assert "<mark>swimming</mark>" in highlighted
        logs = stop_and_read(process)
    assert state["reindex_total"] == 3
    assert state["reindex_done"] == 3
    assert state["reindex_finished_at"] is not None
    assert "search re-index queued" in logs
    assert "search re-index finished" in logs
    with psycopg.connect(clean_db) as conn:
        jobs = conn.execute("SELECT status, payload FROM jobs WHERE kind = 'reindex_search'").fetchall()
    assert jobs == [("succeeded", {"config": "simple"})]


def test_search_during_a_reindex_matches_both_configurations_and_a_lost_job_is_queued_again(
    api: httpx.Client, worker: StartWorker, clean_db: str
) -> None:
    with worker():
        ids = _upload_all(api)
    # the change is recorded and one batch done, then its worker is gone: no job is left to go on
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        conn.execute(
            "UPDATE search_settings SET previous_config = text_config, text_config = 'simple', "
            "reindex_total = 3, reindex_done = 0, reindex_started_at = now()"
        )
        first = conn.execute("SELECT id FROM documents ORDER BY id LIMIT 1").fetchone()
        assert first is not None
        conn.execute(
            "UPDATE documents SET search = to_tsvector('simple', title || ' ' || extracted_text) "
            "WHERE id = %s",
            (first["id"],),
        )
        conn.execute("UPDATE search_settings SET reindex_after = %s, reindex_done = 1", (first["id"],))
    status = _search_command(clean_db)
    assert "configuration: simple" in status
    assert "re-index from english: 1 of 3 documents (33 %)" in status
    # mid-way, a search finds every document whichever configuration its vector is in
    assert _found(api, "running") == {ids["a.txt"]}
    assert _found(api, "swimming") == {ids["b.txt"]}
    assert _found(api, "hiking") == {ids["c.txt"]}

    with worker(SEARCH_TEXT_CONFIG="simple"):
        state = _wait_reindexed(clean_db, "simple")
    assert state["reindex_done"] == 3
    assert "last re-index: 3 documents, finished" in _search_command(clean_db)
    assert _found(api, "hike") == set()  # the rest was rebuilt in simple too
    assert _found(api, "hiking") == {ids["c.txt"]}


def test_a_configuration_the_database_lacks_is_logged_and_changes_nothing(
    api: httpx.Client, worker: StartWorker, clean_db: str
) -> None:
    with worker(SEARCH_TEXT_CONFIG="klingon") as process:
        deadline = time.monotonic() + 30
        while True:  # the worker stays up and ready; the index keeps its configuration
            if httpx.get(f"http://127.0.0.1:{process.port}/readyz", timeout=2).status_code == 200:  # type: ignore[attr-defined]
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        ids = _upload_all(api)
        logs = stop_and_read(process)
    assert "SEARCH_TEXT_CONFIG is 'klingon', which the database does not have" in logs
    assert _settings(clean_db)["text_config"] == "english"
    assert _found(api, "run") == {ids["a.txt"]}


@pytest.mark.parametrize("value", ["english;drop table documents", "Eng lish", "'english'", "a" * 64])
def test_search_text_config_that_is_not_a_name_is_refused_at_start_up(value: str) -> None:
    with pytest.raises(SettingsError, match="SEARCH_TEXT_CONFIG"):
        load_settings(WorkerSettings, {"SEARCH_TEXT_CONFIG": value})


def test_the_search_command_says_why_it_cannot_answer(make_database: Callable[[bool], str]) -> None:
    unmigrated = make_database(False)
    for database, expected in (
        (unmigrated, "the database has no search settings; run `docket-api migrate`"),
        (f"postgresql://nobody@127.0.0.1:{free_port()}/docket", "cannot reach the database"),
    ):
        done = _run_search_command(database)
        assert done.returncode == 1, done
        assert expected in done.stderr
        assert "Traceback" not in done.stderr
