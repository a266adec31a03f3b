"""A streaming multipart upload client (httpx), so a 20 MB body is never held whole on our side."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

BOUNDARY = "docket-bench-boundary-7f3a"
PIECE = 256 * 1024
MIB = 1024 * 1024


def _block() -> bytes:
    import random

    from bench import words

    return words.text(random.Random(11), MIB).encode()


BLOCK = _block()


@dataclass(frozen=True)
class UploadRun:
    """A batch of uploads: wall time, the statuses, and the file bytes sent."""

    seconds: float
    statuses: list[int]
    file_bytes: int
    client_cpu_seconds: float

    @property
    def mib_per_second(self) -> float:
        return self.file_bytes / MIB / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(status != 201 for status in self.statuses)


def multipart(size: int, tag: str) -> tuple[int, AsyncIterator[bytes]]:
    """The Content-Length and the streamed body of a form with one text file of ``size`` bytes."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{tag}.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    first = f"{tag}\n".encode()  # makes every file unique: Docket refuses a second copy of the same bytes
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head + first
        remaining = size - len(first)
        while remaining > 0:
            offset = (size - remaining) % len(BLOCK)
            piece = BLOCK[offset : offset + min(PIECE, remaining)]
            remaining -= len(piece)
            yield piece
        yield tail

    return len(head) + size + len(tail), body()


async def _upload_all(url: str, token: str, count: int, size: int, concurrency: int, tag: str) -> list[int]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:

        async def one(n: int) -> int:
            length, body = multipart(size, f"{tag}-{n}")
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(length),
            }
            async with gate:
                response = await client.post(url, content=body, headers=headers)
            return response.status_code

        return list(await asyncio.gather(*(one(n) for n in range(count))))


def upload(api_url: str, token: str, *, count: int, size: int, concurrency: int, tag: str) -> UploadRun:
    """Upload ``count`` files of ``size`` bytes, ``concurrency`` at a time."""
    cpu, started = time.thread_time(), time.monotonic()  # this thread only: not the Monitor's
    statuses = asyncio.run(_upload_all(f"{api_url}/api/v1/documents", token, count, size, concurrency, tag))
    return UploadRun(time.monotonic() - started, statuses, count * size, time.thread_time() - cpu)
