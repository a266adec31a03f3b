"""The upload form without JavaScript, read as it streams: each file spooled, none whole in memory.

Each file part goes into a ``SpooledTemporaryFile`` that keeps up to UPLOAD_SPOOL_MEMORY_BYTES in
memory and then moves to a file in TMPDIR. A file over MAX_UPLOAD_BYTES stops being written (its
spool is closed at once and it is reported as too large); a form with more than UPLOAD_MAX_FILES
files is refused as soon as the extra file begins. Whatever happens (a bad form, a body that misses
its deadline, a client that goes away, an error further on) every spool is closed when the
``async with`` block ends, which frees its memory and deletes its file.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from docket_core.http.problems import Problem

MAX_FIELD_BYTES = 4096  # a plain field (the CSRF token): nothing else the form sends is long
MAX_PARTS_OVER_FILES = 8  # the token, and room for fields a browser adds


class TooManyFilesError(Exception):
    """The form carries more files than UPLOAD_MAX_FILES."""


@dataclass
class SpooledFile:
    """One uploaded file of the form."""

    filename: str
    content_type: str
    file: IO[bytes] | None  # None once it proved too large (its spool is closed already)
    size: int = 0


@dataclass
class SpooledForm:
    """The files of one form, in the order they came."""

    files: list[SpooledFile] = field(default_factory=list)

    def close(self) -> None:
        for upload in self.files:
            if upload.file is not None:
                upload.file.close()


@contextlib.asynccontextmanager
async def spooled_upload_form(
    content_type: str,
    body: AsyncIterator[bytes],
    *,
    max_file_bytes: int,
    max_files: int,
    spool_memory_bytes: int,
) -> AsyncIterator[SpooledForm]:
    """Read a multipart upload form into spools; they are all closed when the block ends."""
    kind, options = parse_options_header(content_type)
    if kind != "multipart/form-data" or not options.get("boundary"):
        raise Problem(400, "Send the files as multipart/form-data.")
    form = SpooledForm()
    try:
        await _read(form, options["boundary"], body, max_file_bytes, max_files, spool_memory_bytes)
        yield form
    finally:
        form.close()


async def _read(
    form: SpooledForm,
    boundary: str,
    body: AsyncIterator[bytes],
    max_file_bytes: int,
    max_files: int,
    spool_memory_bytes: int,
) -> None:
    parser = PushMultipartParser(
        boundary, max_header_size=4096, max_segment_count=max_files + MAX_PARTS_OVER_FILES
    )
    current: SpooledFile | None = None
    field_bytes = 0
    try:
        async for chunk in body:
            for event in parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    current, field_bytes = None, 0
                    if event.filename:  # a file input left empty sends a part with no filename
                        if len(form.files) == max_files:
                            raise TooManyFilesError
                        current = SpooledFile(
                            event.filename,
                            event.content_type or "application/octet-stream",
                            _spool(spool_memory_bytes),
                        )
                        form.files.append(current)
                elif event and current is not None:
                    _write(current, event, max_file_bytes)
                elif event:
                    field_bytes += len(event)
                    if field_bytes > MAX_FIELD_BYTES:
                        raise Problem(400, "The form has a field far longer than any this page sends.")
        parser.close()
    except MultipartError as exc:
        raise Problem(400, "The form could not be read.") from exc
    for upload in form.files:
        if upload.file is not None:
            upload.file.seek(0)


def _spool(memory_bytes: int) -> IO[bytes]:
    """A spool that moves to a file in TMPDIR past ``memory_bytes`` (0: a file from the start; the
    standard library reads a max_size of 0 as "never")."""
    if memory_bytes == 0:
        return tempfile.TemporaryFile()  # noqa: SIM115  # closed by SpooledForm.close
    return tempfile.SpooledTemporaryFile(max_size=memory_bytes)  # noqa: SIM115


def _write(upload: SpooledFile, chunk: bytes, max_file_bytes: int) -> None:
    if upload.file is None:
        return  # already too large: the rest of it is read and dropped
    upload.size += len(chunk)
    if upload.size > max_file_bytes:
        upload.file.close()
        upload.file = None
        return
    # a spool in memory, or a write of at most one received chunk to a file in the page cache
    upload.file.write(chunk)
