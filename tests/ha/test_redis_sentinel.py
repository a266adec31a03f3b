"""Redis failover under load: real redis-server master and replica, three redis-sentinel processes.

The master is SIGKILLed while clients list documents through the API and web, and while an API
event stream and the web's merged stream are open. The limiter fails open (counted) and comes back,
both streams carry on and deliver the events published after the failover, and nothing answers 5xx
outside the failover window (inside it, the API's deny-list check fails closed with 503). The
measured windows are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from apikit import api_settings, bearer, register_and_login
from ha_servers import SentinelGroup, wait_for
from prometheus_client import REGISTRY
from redis.exceptions import RedisError
from redis.sentinel import Sentinel
from servers import ThreadedServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "web" / "tests"))

from webkit import Browser, web_settings

from docket_api.app import create_app as create_api
from docket_core.contracts import (
    StatusEvent,
    document_events_channel,
    encode_status_event,
)
from docket_core.redis import create_redis
from docket_core.settings import CommonSettings
from docket_web.app import create_app as create_web


@pytest.fixture(scope="module")
def sentinels() -> Iterator[SentinelGroup]:
    group = SentinelGroup()
    try:
        yield group.start()
    finally:
        group.stop()


@dataclass
class Timeline:
    """What each client saw, stamped with time.monotonic()."""

    api_lists: list[tuple[float, int, bool]] = field(default_factory=list)  # (began, status, limited)
    web_pages: list[tuple[float, int]] = field(default_factory=list)
    api_ended: list[float] = field(default_factory=list)  # when each of api_lists ended, in order
    web_ended: list[float] = field(default_factory=list)
    api_events: list[tuple[float, str]] = field(default_factory=list)
    web_events: list[tuple[float, str]] = field(default_factory=list)


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def _read_sse(response: httpx.Response, into: list[tuple[float, str]]) -> None:
    event = ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            status = json.loads(line[5:]).get("status") if event == "status" else event
            into.append((time.monotonic(), str(status)))


def test_a_master_killed_under_load_fails_over_and_the_limiter_and_streams_resume(
    sentinels: SentinelGroup, clean_db: str
) -> None:
    sentinel_settings: dict[str, Any] = {
        "redis_sentinels": sentinels.addresses.split(","),
        "redis_sentinel_master": SentinelGroup.MASTER_NAME,
    }
    managed = "redis://sentinel-managed/0"  # with Sentinels only its credentials and database count
    api_app = create_api(
        api_settings(clean_db, managed, trusted_proxies=("127.0.0.1/32",), **sentinel_settings)
    )
    seen = Timeline()
    stop = threading.Event()
    with ThreadedServer(api_app) as api, httpx.Client(base_url=api.url, timeout=30) as client:
        web = ThreadedServer(create_web(web_settings(api.url, managed, **sentinel_settings))).__enter__()
        try:
            headers = bearer(register_and_login(client)["access_token"])
            browser = Browser(web.url)
            browser.sign_up("web@example.com")
            uploaded = browser.upload_streamed("live.txt", b"Live status of a tapir.")
            assert uploaded.status_code == 201, uploaded.text
            doc_id = str(uploaded.json()["document_id"])
            owner_headers = bearer(
                register_and_login(client, "owner-of-api-stream@example.com")["access_token"]
            )
            api_doc = client.post(
                "/api/v1/documents", files={"file": ("a.txt", b"another tapir")}, headers=owner_headers
            ).json()["id"]

            def load() -> None:
                with httpx.Client(base_url=api.url, timeout=10) as loader, Browser(web.url) as pages:
                    pages.cookies = browser.cookies
                    while not stop.is_set():  # each request is stamped with the time it began
                        began = time.monotonic()
                        response = loader.get("/api/v1/documents", headers=headers)
                        limited = "ratelimit-remaining" in response.headers
                        seen.api_lists.append((began, response.status_code, limited))
                        seen.api_ended.append(time.monotonic())
                        began = time.monotonic()
                        seen.web_pages.append((began, pages.get("/documents").status_code))
                        seen.web_ended.append(time.monotonic())
                        time.sleep(0.02)

            def api_stream() -> None:
                with client.stream(
                    "GET", f"/api/v1/documents/{api_doc}/events", headers=owner_headers, timeout=90
                ) as response:
                    assert response.status_code == 200
                    _read_sse(response, seen.api_events)

            def web_stream() -> None:
                with browser.stream(
                    "GET", f"/events?id={doc_id}", headers={"Accept": "text/event-stream"}, timeout=90
                ) as response:
                    assert response.status_code == 200
                    _read_sse(response, seen.web_events)

            threads = [threading.Thread(target=t, daemon=True) for t in (load, api_stream, web_stream)]
            for thread in threads:
                thread.start()
            wait_for(lambda: seen.api_events and seen.web_events, timeout=20, what="both streams open")
            publisher = Sentinel([("127.0.0.1", p) for p in sentinels.sentinel_ports], socket_timeout=1)
            master = publisher.master_for(SentinelGroup.MASTER_NAME, socket_timeout=1)

            def set_status(document: str, status: str) -> None:
                with psycopg.connect(clean_db) as conn:
                    conn.execute("UPDATE documents SET status = %s WHERE id = %s", (status, document))
                event = encode_status_event(StatusEvent(uuid.UUID(document), status))
                master.publish(document_events_channel(document), event)

            set_status(doc_id, "processing")
            set_status(api_doc, "processing")
            wait_for(
                lambda: (
                    ("processing" in [s for _, s in seen.api_events])
                    and ("processing" in [s for _, s in seen.web_events])
                ),
                timeout=20,
                what="events before the failover",
            )
            limiter_errors = _sample("docket_rate_limiter_errors_total")
            lost = _sample("docket_sse_subscriptions_lost_total")
            old_master = sentinels.master.port
            time.sleep(0.5)  # some load before the kill

            killed_at = time.monotonic()
            sentinels.master.kill()
            wait_for(
                lambda: sentinels.master_port() not in (None, old_master), timeout=30, what="a new master"
            )
            promoted_at = time.monotonic()

            def delivered_after_kill() -> bool:
                # as the worker does: one try per event; one lost while the publisher fails over is fine
                with contextlib.suppress(RedisError):
                    master.publish(
                        document_events_channel(api_doc),
                        encode_status_event(StatusEvent(uuid.UUID(api_doc), "processing")),
                    )
                time.sleep(0.2)
                return any(t > killed_at and s == "processing" for t, s in seen.api_events)

            wait_for(delivered_after_kill, timeout=30, what="the API stream delivering again")
            api_stream_back_at = next(t for t, s in seen.api_events if t > killed_at)
            wait_for(
                lambda: any(t > promoted_at and limited for t, _, limited in seen.api_lists),
                timeout=30,
                what="the limiter answering again",
            )
            failed_open = [t for t, _, limited in seen.api_lists if t > killed_at and not limited]
            assert failed_open, "some requests were let through unlimited while Redis failed over"
            limiter_back_at = next(t for t, _, limited in seen.api_lists if t > failed_open[-1] and limited)
            time.sleep(1.0)  # load after recovery
            set_status(doc_id, "ready")
            set_status(api_doc, "ready")
            for thread in threads[1:]:
                thread.join(30)
                assert not thread.is_alive(), "each stream ends at the final status"
        finally:
            stop.set()
            web.__exit__(None, None, None)

    recovered_at = max(limiter_back_at, api_stream_back_at)
    # (began, ended, status) of each 5xx, in seconds from the kill
    api_failures = [
        (t - killed_at, end - killed_at, s)
        for (t, s, _), end in zip(seen.api_lists, seen.api_ended, strict=False)
        if s >= 500
    ]
    web_failures = [
        (t - killed_at, end - killed_at, s)
        for (t, s), end in zip(seen.web_pages, seen.web_ended, strict=False)
        if s >= 500
    ]
    web_window = [t for t, _, _ in web_failures]
    print(
        f"\nfailover: new master elected {promoted_at - killed_at:.2f}s after the kill; "
        f"limiter failing open from {failed_open[0] - killed_at:.2f}s to {failed_open[-1] - killed_at:.2f}s "
        f"({len(failed_open)} requests), answering again after {limiter_back_at - killed_at:.2f}s; "
        f"API event stream delivering after {api_stream_back_at - killed_at:.2f}s; "
        f"web pages 503 from {min(web_window, default=0):.2f}s to {max(web_window, default=0):.2f}s "
        f"({len(web_failures)} of {len(seen.web_pages)}); "
        f"API lists: {len(api_failures)} 5xx of {len(seen.api_lists)}"
    )
    # a request still in flight at the kill, or begun before clients could learn the new master (a
    # second after its election), may fail; none that ended before the kill or began later. The API's
    # are the deny-list check failing closed (the limiter fails open, counted below).
    window_end = promoted_at + 1.0 - killed_at
    api_outside = [(b, e) for b, e, _ in api_failures if e < 0 or b > window_end]
    assert not api_outside, f"API 5xx only within the window: {api_outside}"
    assert all(s == 503 for _, _, s in api_failures), "the API says unavailable, not a crash"
    web_outside = [(b, e) for b, e, _ in web_failures if e < 0 or b > window_end]
    assert not web_outside, f"web 5xx only within the window: {web_outside}"
    assert all(s == 503 for _, _, s in web_failures), "the web says unavailable, not a crash"
    assert _sample("docket_rate_limiter_errors_total") > limiter_errors, "each fail-open is counted"
    assert _sample("docket_sse_subscriptions_lost_total") > lost
    assert [status for t, status in seen.api_events if t < killed_at] == ["pending", "processing"]
    assert seen.api_events[-1][1] == "ready"
    assert [s for _, s in seen.web_events] == ["pending", "processing", "ready", "end"]
    assert all(limited for t, status, limited in seen.api_lists if t > recovered_at and status == 200)


def test_with_sentinels_redis_url_still_gives_the_database_number(sentinels: SentinelGroup) -> None:
    settings = CommonSettings(
        redis_url="redis://host-not-used:1/5",
        redis_sentinels=tuple(sentinels.addresses.split(",")),
        redis_sentinel_master=SentinelGroup.MASTER_NAME,
    )

    async def write() -> None:
        client = create_redis(settings)
        try:
            await client.set("docket:probe", b"found", ex=60)
        finally:
            await client.aclose()

    asyncio.run(write())
    master = redis.Redis(port=sentinels.master_port() or 0, db=5)
    try:
        assert master.get("docket:probe") == b"found"
    finally:
        master.close()
