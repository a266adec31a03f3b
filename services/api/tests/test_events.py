"""A document's live status stream (SSE) over real HTTP, fed through real Redis pub/sub."""

from __future__ import annotations

import json
import threading
import uuid

import httpx
import redis
from apikit import bearer, register_and_login

from docket_core.contracts import StatusEvent, document_events_channel, encode_status_event


def _listen(
    api: httpx.Client, url: str, headers: dict[str, str], out: list[dict[str, object]], first: threading.Event
) -> None:
    with api.stream("GET", url, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data:"):
                out.append(json.loads(line[5:]))
                first.set()


def test_malformed_and_foreign_status_events_are_skipped_and_the_stream_goes_on(
    api: httpx.Client, clean_redis: str
) -> None:
    user = bearer(register_and_login(api)["access_token"])
    created = api.post(
        "/api/v1/documents", files={"file": ("live.txt", b"a live tapir")}, headers=user
    ).json()
    doc_id = uuid.UUID(created["id"])
    events: list[dict[str, object]] = []
    first = threading.Event()
    listener = threading.Thread(
        target=_listen, args=(api, f"/api/v1/documents/{doc_id}/events", user, events, first), daemon=True
    )
    listener.start()
    assert first.wait(10), "the current status comes first"
    publisher = redis.Redis.from_url(clean_redis)
    channel = document_events_channel(doc_id)
    for hostile in (
        b"not json",
        b'{"status": "ready"}',
        json.dumps({"id": str(doc_id), "status": "exploded"}).encode(),
        encode_status_event(StatusEvent(uuid.uuid4(), "ready")),  # another document's event
        encode_status_event(StatusEvent(doc_id, "processing")),
        encode_status_event(StatusEvent(doc_id, "failed", "The PDF is encrypted.")),
    ):
        publisher.publish(channel, hostile)
    publisher.close()
    listener.join(15)
    assert not listener.is_alive(), "the stream ends at the final state"
    assert events == [
        {"id": str(doc_id), "status": "pending", "failure_reason": None},
        {"id": str(doc_id), "status": "processing", "failure_reason": None},
        {"id": str(doc_id), "status": "failed", "failure_reason": "The PDF is encrypted."},
    ]
