"""The upload form without JavaScript, relayed file by file to the API as it arrives.

The web stores nothing: each file part of the form becomes its own streamed call to the API (which
applies its own quotas and deadline), fed chunk by chunk as the parser yields them. At most
UPLOAD_SPOOL_MEMORY_BYTES of a file wait in memory for the API to take them (the parser then waits,
and so does the client); nothing is ever written to the pod's /tmp. The scripted upload is streamed
the same way, whole.

A file over MAX_UPLOAD_BYTES is cut off (its call is abandoned, which the API sees as a client that
went away and stores nothing) and reported as too large; so is a file the API answers early (a wrong
type, say): the rest of its part is read and dropped. A form with more than UPLOAD_MAX_FILES files
stops as soon as the extra one begins. Whatever ends the form early (a bad form, a body that misses its
deadline, a client that goes away), the call in progress is cancelled.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Generic, TypeVar

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header
from multipart import content_disposition_quote as quote

from docket_core.http.problems import Problem

T = TypeVar("T")
# (filename, content type, multipart body) -> the outcome of the call
SendFile = Callable[[str, str, AsyncIterator[bytes]], Coroutine[Any, Any, T]]
MAX_FIELD_BYTES = 4096  # a plain field (the CSRF token): nothing else the form sends is long
MAX_PARTS_OVER_FILES = 8  # the token, and room for fields a browser adds


class TooManyFilesError(Exception):
    """The form carries more files than UPLOAD_MAX_FILES; ``done`` holds the outcomes of the others."""

    def __init__(self, done: list[object]) -> None:
        super().__init__("too many files")
        self.done = done


class FileCall(Generic[T]):
    """One file on its way to the API: a queue of its chunks, and the call that reads them."""

    def __init__(self, filename: str, content_type: str, send: SendFile[T], memory_bytes: int) -> None:
        self.filename = filename
        self.memory_bytes = memory_bytes
        boundary = secrets.token_hex(16)
        self.head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename={quote(filename)}\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.queued = 0  # bytes waiting in the queue
        self.taken = asyncio.Event()  # the call took a chunk: there may be room again
        self.size = 0
        self.cut_off = False
        content = f"multipart/form-data; boundary={boundary}"
        self.task = asyncio.create_task(send(filename, content, self._body()))

    async def _body(self) -> AsyncIterator[bytes]:
        yield self.head
        while (chunk := await self.queue.get()) is not None:
            self.queued -= len(chunk)
            self.taken.set()
            yield chunk
        yield self.tail

    async def feed(self, chunk: bytes | None) -> None:
        """Pass a chunk on (None: the file is complete) once there is room; dropped once the API has
        answered. One chunk may always wait, however large."""
        if self.cut_off or self.task.done():
            return
        size = len(chunk or b"")
        while self.queued and self.queued + size > self.memory_bytes and not self.task.done():
            self.taken.clear()
            room = asyncio.ensure_future(self.taken.wait())
            await asyncio.wait({room, self.task}, return_when=asyncio.FIRST_COMPLETED)
            room.cancel()
        if self.task.done():
            return
        self.queued += size
        self.queue.put_nowait(chunk)

    def cut(self) -> None:
        """Abandon the call: the API sees a client that went away, and stores nothing."""
        self.cut_off = True
        self.task.cancel()


async def relay_upload_form(
    content_type: str,
    body: AsyncIterator[bytes],
    *,
    max_file_bytes: int,
    max_files: int,
    memory_bytes: int,
    send: SendFile[T],
    too_large: Callable[[str], T],
) -> list[T]:
    """Send each file of a multipart form to the API as it arrives; their outcomes, in order."""
    kind, options = parse_options_header(content_type)
    if kind != "multipart/form-data" or not options.get("boundary"):
        raise Problem(400, "Send the files as multipart/form-data.")
    parser = PushMultipartParser(
        options["boundary"], max_header_size=4096, max_segment_count=max_files + MAX_PARTS_OVER_FILES
    )
    outcomes: list[T] = []
    current: FileCall[T] | None = None
    field_bytes = 0
    try:
        async for chunk in body:
            for event in parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    field_bytes = 0
                    if event.filename:  # a file input left empty sends a part with no filename
                        if len(outcomes) == max_files:
                            raise TooManyFilesError(list(outcomes))
                        content = event.content_type or "application/octet-stream"
                        current = FileCall(event.filename, content, send, memory_bytes)
                elif event and current is not None:
                    current.size += len(event)
                    if current.size > max_file_bytes and not current.cut_off:
                        current.cut()
                    await current.feed(event)
                elif event:
                    field_bytes += len(event)
                    if field_bytes > MAX_FIELD_BYTES:
                        raise Problem(400, "The form has a field far longer than any this page sends.")
                elif current is not None:  # the end of a file part
                    await current.feed(None)
                    call, current = current, None
                    outcomes.append(too_large(call.filename) if call.cut_off else await call.task)
        parser.close()
    except MultipartError as exc:
        raise Problem(400, "The form could not be read.") from exc
    finally:
        if current is not None:
            current.cut()
    return outcomes
