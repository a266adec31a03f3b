"""The upload pace: a grace period, then a minimum average rate, and an absolute cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from docket_core.contracts import UploadPace
from docket_core.http.paced_body import ClientDisconnectedError, paced, request_body
from docket_core.http.problems import Problem


async def trickle(chunks: list[bytes], gap: float) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(gap)
        yield chunk


async def collect(body: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in body])


def test_the_deadline_grows_with_every_byte_until_the_cap() -> None:
    pace = UploadPace(min_bytes_per_second=100, grace_seconds=5, max_seconds=60)
    assert pace.deadline(1000.0, 0) == (1005.0, False)
    assert pace.deadline(1000.0, 1000) == (1015.0, False), "1000 bytes buy 10 more seconds"
    assert pace.deadline(1000.0, 10_000) == (1060.0, True), "never past the cap"
    assert UploadPace(min_bytes_per_second=0, max_seconds=60).deadline(0.0, 0) == (60.0, True)


def test_bad_values_are_named_as_settings() -> None:
    assert UploadPace().problems() == []
    problems = UploadPace(min_bytes_per_second=-1, grace_seconds=-1, max_seconds=0).problems()
    assert [p.split()[0] for p in problems] == [
        "UPLOAD_MIN_BYTES_PER_SECOND",
        "UPLOAD_GRACE_SECONDS",
        "UPLOAD_MAX_SECONDS",
    ]


def test_a_body_that_keeps_the_pace_passes_unchanged() -> None:
    pace = UploadPace(min_bytes_per_second=100, grace_seconds=0.2, max_seconds=10)
    chunks = [b"x" * 50] * 6  # 50 bytes every 0.1 s: 500 B/s
    assert asyncio.run(collect(paced(trickle(chunks, 0.1), pace))) == b"".join(chunks)


def test_a_body_that_falls_below_the_rate_after_the_grace_period_is_408_too_slow() -> None:
    pace = UploadPace(min_bytes_per_second=1000, grace_seconds=0.2, max_seconds=10)
    received: list[bytes] = []

    async def run() -> None:
        async for chunk in paced(trickle([b"y" * 10] * 100, 0.05), pace):  # 200 B/s
            received.append(chunk)

    with pytest.raises(Problem) as caught:
        asyncio.run(asyncio.wait_for(run(), 5))
    assert caught.value.status_code == 408
    assert caught.value.slug == "upload-too-slow"
    assert caught.value.headers == {"Connection": "close"}
    assert 2 <= len(received) < 10, "the grace period was honoured, then the body was cut off"


def test_a_body_that_is_fast_but_never_ends_is_408_too_long() -> None:
    pace = UploadPace(min_bytes_per_second=10, grace_seconds=0.1, max_seconds=0.5)

    async def endless() -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0.01)
            yield b"z" * 1000

    with pytest.raises(Problem) as caught:
        asyncio.run(asyncio.wait_for(collect(paced(endless(), pace)), 5))
    assert caught.value.status_code == 408
    assert caught.value.slug == "upload-too-long"


def test_a_silent_client_is_cut_off_when_the_grace_period_ends() -> None:
    pace = UploadPace(min_bytes_per_second=1, grace_seconds=0.3, max_seconds=10)

    async def silent() -> AsyncIterator[bytes]:
        await asyncio.sleep(60)
        yield b""

    async def run() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(Problem, match="slower than"):
            await collect(paced(silent(), pace))
        return loop.time() - started

    assert 0.3 <= asyncio.run(run()) < 3


def test_request_body_reads_asgi_messages_and_reports_a_disconnect() -> None:
    def receiver(messages: list[dict[str, Any]]) -> Any:
        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        return receive

    complete = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"c", "more_body": False},
    ]
    assert asyncio.run(collect(request_body(receiver(complete)))) == b"abc"
    cut = [{"type": "http.request", "body": b"ab", "more_body": True}, {"type": "http.disconnect"}]
    with pytest.raises(ClientDisconnectedError):
        asyncio.run(collect(request_body(receiver(cut))))
