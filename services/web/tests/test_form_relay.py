"""The no-JS upload form's relay: files go to the API as they arrive, never whole in memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from docket_core.http.problems import Problem
from docket_web.server.form_relay import TooManyFilesError, relay_upload_form

BOUNDARY = "relaytestboundary"
CHUNK = 64 * 1024
MEMORY = 256 * 1024


def form(*files: tuple[str, bytes]) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\ntoken\r\n'.encode()]
    for name, body in files:
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        parts.append(head.encode() + b"Content-Type: text/plain\r\n\r\n" + body + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


class Client:
    """The browser's side: the form's bytes, a chunk at a time, counting what the relay pulled."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pulled = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), CHUNK):
            chunk = self.body[start : start + CHUNK]
            self.pulled += len(chunk)
            yield chunk


class SlowApi:
    """The API's side: takes each file's body slowly, and notes how far the client was ahead of it."""

    def __init__(self, client: Client, answer_after: int | None = None) -> None:
        self.client = client
        self.answer_after = answer_after
        self.taken = 0
        self.ahead = 0
        self.received: dict[str, bytes] = {}

    async def send(self, filename: str, content_type: str, body: AsyncIterator[bytes]) -> str:
        assert content_type.startswith("multipart/form-data; boundary=")
        got = b""
        async for chunk in body:
            got += chunk
            self.taken += len(chunk)
            self.ahead = max(self.ahead, self.client.pulled - self.taken)
            if self.answer_after is not None and len(got) > self.answer_after:
                self.received[filename] = got
                return f"{filename}: refused early"  # like a 415 after sniffing the start
            await asyncio.sleep(0.001)
        self.received[filename] = got
        return f"{filename}: stored"


def relay(
    client: Client, api: SlowApi, *, max_file_bytes: int = 10_000_000, max_files: int = 10
) -> list[str]:
    return asyncio.run(
        relay_upload_form(
            f"multipart/form-data; boundary={BOUNDARY}",
            client.chunks(),
            max_file_bytes=max_file_bytes,
            max_files=max_files,
            memory_bytes=MEMORY,
            send=api.send,
            too_large=lambda name: f"{name}: too large",
        )
    )


def test_each_file_reaches_the_api_whole_and_the_relay_never_runs_far_ahead_of_it() -> None:
    first, second = bytes(range(256)) * 12_000, b"second file " * 100_000  # 3 MB and 1.2 MB
    client = Client(form(("a.bin", first), ("b.txt", second)))
    api = SlowApi(client)
    assert relay(client, api) == ["a.bin: stored", "b.txt: stored"]
    assert first in api.received["a.bin"]
    assert api.received["a.bin"].endswith(b"\r\n" + api.received["a.bin"].split(b"\r\n", 1)[0] + b"--\r\n")
    assert second in api.received["b.txt"]
    # what was pulled from the client but not yet taken by the API: the memory bound, a chunk, framing
    assert api.ahead <= MEMORY + 2 * CHUNK, api.ahead


def test_a_file_over_the_limit_is_cut_off_and_the_next_one_still_goes() -> None:
    client = Client(form(("huge.txt", b"x" * 2_000_000), ("small.txt", b"fine")))
    api = SlowApi(client)
    assert relay(client, api, max_file_bytes=1_000_000) == ["huge.txt: too large", "small.txt: stored"]
    assert "huge.txt" not in api.received, "the cut-off call never completed"


def test_a_file_the_api_answers_early_has_the_rest_of_its_part_dropped() -> None:
    client = Client(form(("a.exe", b"MZ" * 1_000_000), ("b.txt", b"after it")))
    api = SlowApi(client, answer_after=100_000)
    assert relay(client, api) == ["a.exe: refused early", "b.txt: stored"]
    assert client.pulled == len(client.body), "the rest of the form was still read"


def test_an_extra_file_stops_the_form_and_keeps_what_went_before() -> None:
    client = Client(form(("1.txt", b"one"), ("2.txt", b"two"), ("3.txt", b"three")))
    with pytest.raises(TooManyFilesError) as raised:
        relay(client, SlowApi(client), max_files=2)
    assert raised.value.done == ["1.txt: stored", "2.txt: stored"]


def test_a_broken_form_is_a_400() -> None:
    client = Client(b"--" + BOUNDARY.encode() + b"\r\nno headers end here" * 1000)
    with pytest.raises(Problem) as raised:
        relay(client, SlowApi(client))
    assert raised.value.status_code == 400
