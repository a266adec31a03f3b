"""Live status streams outlive what is behind them. The API's stream outlives Redis going away: it
subscribes again once Redis is back and catches up from the database. The web's merged stream
outlives the API process: when a document's API stream is cut (its pod killed and replaced), the web
follows the document again, and gives up only after the API has stayed away for a while."""

from __future__ import annotations

import json
import signal
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
from apikit import TEST_SECRET, api_settings, bearer, register_and_login
from embedded_services import EmbeddedRedis, free_port
from ha_servers import wait_for
from servers import ThreadedServer, cli, service_process

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "web" / "tests"))

from webkit import Browser, web_settings

from docket_api.app import create_app as create_api
from docket_core.contracts import StatusEvent, document_events_channel, encode_status_event
from docket_web.app import create_app as create_web
from docket_web.pages import live


def _api_process(database_url: str, redis_url: str, port: int):  # type: ignore[no-untyped-def]
    env = {
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": TEST_SECRET,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "TRUSTED_PROXIES": "127.0.0.1/32",
    }
    return service_process([*cli("docket-api"), "serve"], env, port)


@pytest.fixture
def web_and_api_port(clean_db: str, clean_redis: str) -> Iterator[tuple[Browser, int]]:
    port = free_port()
    with (
        ThreadedServer(create_web(web_settings(f"http://127.0.0.1:{port}", clean_redis))) as web,
        Browser(web.url) as browser,
    ):
        yield browser, port


def _listen(
    client: httpx.Client, path: str, events: list[str], headers: dict[str, str] | None = None
) -> threading.Thread:
    """Collect the statuses (and the web's final ``end``) a stream sends, in a thread."""

    def run() -> None:
        with client.stream(
            "GET", path, headers={"Accept": "text/event-stream", **(headers or {})}
        ) as response:
            assert response.status_code == 200
            event = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    events.append(json.loads(line[5:]).get("status") if event == "status" else event)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _change_status(database_url: str, redis_url: str, doc_id: str, status: str) -> None:
    """What the worker does: commit the status, then publish it."""
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE documents SET status = %s WHERE id = %s", (status, doc_id))
    publisher = redis.Redis.from_url(redis_url)
    publisher.publish(
        document_events_channel(doc_id), encode_status_event(StatusEvent(uuid.UUID(doc_id), status))
    )
    publisher.close()


def test_an_api_pod_replaced_mid_stream_is_followed_again_and_no_change_is_missed(
    web_and_api_port: tuple[Browser, int], clean_db: str, clean_redis: str
) -> None:
    browser, port = web_and_api_port
    with _api_process(clean_db, clean_redis, port) as first:
        browser.sign_up()
        uploaded = browser.upload_streamed("live.txt", b"Live status of a tapir.")
        assert uploaded.status_code == 201, uploaded.text
        doc_id = str(uploaded.json()["document_id"])
        events: list[str] = []
        listener = _listen(browser, f"/events?id={doc_id}", events)
        wait_for(lambda: events == ["pending"], timeout=20, what="the first event")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    _change_status(clean_db, clean_redis, doc_id, "processing")  # while no API process runs
    with _api_process(clean_db, clean_redis, port):
        wait_for(lambda: "processing" in events, timeout=30, what="the change made while the API was away")
        _change_status(clean_db, clean_redis, doc_id, "ready")
        listener.join(20)
    assert not listener.is_alive()
    assert events == ["pending", "processing", "ready", "end"]


def test_an_api_that_stays_away_ends_the_stream_after_the_retries(
    web_and_api_port: tuple[Browser, int], clean_db: str, clean_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "MAX_REFOLLOWS", 2)  # 1 s and 2 s apart, instead of half a minute in all
    browser, port = web_and_api_port
    with _api_process(clean_db, clean_redis, port) as api:
        browser.sign_up()
        uploaded = browser.upload_streamed("live.txt", b"Live status of a tapir.")
        doc_id = str(uploaded.json()["document_id"])
        events: list[str] = []
        listener = _listen(browser, f"/events?id={doc_id}", events)
        wait_for(lambda: events == ["pending"], timeout=20, what="the first event")
        api.send_signal(signal.SIGKILL)
        api.wait(10)
        listener.join(30)
    assert not listener.is_alive(), "the stream ended once the retries were spent"
    assert events == ["pending", "end"]


def test_while_redis_is_away_streams_wait_and_new_ones_get_503_then_catch_up_once_it_is_back(
    clean_db: str,
) -> None:
    redis_server = EmbeddedRedis().start()
    try:
        settings = api_settings(clean_db, redis_server.url())
        with (
            ThreadedServer(create_api(settings)) as api,
            httpx.Client(base_url=api.url, timeout=60) as client,
        ):
            headers = bearer(register_and_login(client)["access_token"])
            uploaded = client.post("/api/v1/documents", files={"file": ("a.txt", b"tapir")}, headers=headers)
            doc_id = uploaded.json()["id"]
            events: list[str] = []
            listener = _listen(client, f"/api/v1/documents/{doc_id}/events", events, headers)
            wait_for(lambda: events == ["pending"], timeout=20, what="the first event")
            redis_server.stop()
            refused = client.get(f"/api/v1/documents/{doc_id}/events", headers=headers)
            assert refused.status_code == 503, "a new stream cannot subscribe: retry, not a crash"
            assert refused.headers["content-type"].startswith("application/problem+json")
            # The bearer's deny-list check needs Redis too, so the gate refuses first (fail closed).
            assert refused.json()["type"].endswith("token-check-unavailable")
            assert int(refused.headers["retry-after"]) > 0
            with psycopg.connect(clean_db) as conn:  # the worker's commit; its publish finds no Redis
                conn.execute("UPDATE documents SET status = 'ready' WHERE id = %s", (doc_id,))
            redis_server = EmbeddedRedis(port=redis_server.port).start()
            listener.join(30)
        assert not listener.is_alive(), "the stream ended at the final status it caught up on"
        assert events == ["pending", "ready"]
    finally:
        redis_server.stop()
