"""Run extraction where one hostile file cannot stall the worker, starve its jobs, or reach its secrets.

Every file, whatever its type, is parsed in a child process forked for it alone, never in the worker:

- the children descend from one zygote per worker (zygote.py), a new interpreter started with an
  empty environment (no DATABASE_URL, REDIS_URL or secret), none of the worker's descriptors and a
  session of its own; it imports the parsers once, so a child costs a fork, not a start-up;
- each child takes a session of its own, keeps only the file, its report pipe and stderr, and limits
  itself before it reads the file (child.py): address space, CPU time, open files, file size, no core
  file, no new process, and a lower priority than the worker;
- the worker kills the child's whole session at a wall-clock deadline, and after it ends;
- it answers with one JSON report that is read up to a size bound and decoded into typed, bounded
  fields: nothing a child sends is unpickled or trusted beyond those fields.

The worker waits on its event loop, with no thread, so its probes, leases and other jobs go on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import itertools
import json
import logging
import math
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

import msgspec

from docket_worker.processing.extract import (
    MAX_REASON_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    Extracted,
    ExtractionError,
)
from docket_worker.processing.metrics import OCR_PAGES, SANDBOX_OUTCOMES
from docket_worker.processing.ocr import OcrOptions
from docket_worker.processing.thumbnails import MAX_BYTES as THUMBNAIL_BYTES
from docket_worker.settings import WorkerSettings

logger = logging.getLogger("docket.worker.sandbox")

ZYGOTE_PROGRAM = ("-m", "docket_worker.processing.zygote")
OPEN_FILES = 32  # the file, the report pipe, stderr, with room for a module import
FILE_BYTES = 0  # no parser writes files
STDERR_KEPT_BYTES = 4096
MAX_THUMBNAIL_CHARS = 4 * (THUMBNAIL_BYTES // 3 + 1)  # base64
# JSON spends at most 6 bytes on a character ("\u001f"); plus room for the field names and numbers
MAX_REPORT_BYTES = 6 * (MAX_TEXT_CHARS + MAX_TITLE_CHARS + 2 * MAX_REASON_CHARS) + MAX_THUMBNAIL_CHARS + 4096
ZYGOTE_ANSWER_SECONDS = 30.0  # a fork takes milliseconds; the first one waits for the zygote's imports
ZYGOTE_EXIT_SECONDS = 5.0
MAX_ENCODING_CHARS = 40  # a codec name
MEMORY_REASON = "The file needs too much memory to process."


class SandboxUnavailableError(RuntimeError):
    """The zygote is gone or does not answer: not the file's fault, so the job is retried."""


@dataclass(frozen=True)
class SandboxLimits:
    """What one child may use: wall-clock and CPU seconds, address space, open files, bytes per file."""

    wall_seconds: float
    cpu_seconds: int
    memory_bytes: int
    open_files: int = OPEN_FILES
    file_bytes: int = FILE_BYTES
    ocr: OcrOptions | None = None  # None: OCR is off

    @classmethod
    def from_settings(cls, settings: WorkerSettings) -> SandboxLimits:
        return cls(
            wall_seconds=settings.worker_extract_timeout_seconds,
            cpu_seconds=math.ceil(settings.extract_cpu_seconds),
            memory_bytes=settings.worker_extract_memory_mb * 1024 * 1024,
            ocr=settings.ocr_options(),
        )


ChildOutcome = Literal["ok", "refused", "memory", "files", "disk", "crash"]


class _Report(msgspec.Struct, forbid_unknown_fields=True):
    """A child's one message; every field is bounded, so a lying child gets nothing large through."""

    outcome: ChildOutcome
    reason: Annotated[str, msgspec.Meta(max_length=MAX_REASON_CHARS)] | None = None
    text: Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)] = ""
    title: Annotated[str, msgspec.Meta(max_length=MAX_TITLE_CHARS)] | None = None
    page_count: Annotated[int, msgspec.Meta(ge=0)] | None = None
    word_count: Annotated[int, msgspec.Meta(ge=0)] = 0
    encoding: Annotated[str, msgspec.Meta(max_length=MAX_ENCODING_CHARS)] | None = None
    ocr_pages: Annotated[int, msgspec.Meta(ge=0)] = 0
    notice: Annotated[str, msgspec.Meta(max_length=MAX_REASON_CHARS)] | None = None
    thumbnail: Annotated[str, msgspec.Meta(max_length=MAX_THUMBNAIL_CHARS)] | None = None


_decode_report = msgspec.json.Decoder(_Report).decode


@dataclass
class _Child:
    """One request to the zygote: the child's pid once forked, then its exit code once reaped."""

    pid: asyncio.Future[int | None]
    exit: asyncio.Future[int | None]


@dataclass
class _Zygote:
    """A running zygote: its process, the worker's end of its socket, and the requests in flight."""

    process: subprocess.Popen[bytes]
    control: socket.socket
    loop: asyncio.AbstractEventLoop
    children: dict[int, _Child] = field(default_factory=dict)
    alive: bool = True

    @classmethod
    def start(cls, program: tuple[str, ...]) -> _Zygote:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", *program],
                stdin=theirs.fileno(), stdout=subprocess.DEVNULL, env={}, cwd="/", start_new_session=True,
            )  # fmt: skip
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        zygote = cls(process, ours, loop)
        loop.add_reader(ours.fileno(), zygote._on_message)
        return zygote

    def fork(self, request_id: int, request: dict[str, Any], fds: list[int]) -> _Child:
        child = _Child(self.loop.create_future(), self.loop.create_future())
        self.children[request_id] = child
        try:
            socket.send_fds(self.control, [json.dumps({"id": request_id, **request}).encode()], fds)
        except OSError:
            self._gone()
        return child

    def _on_message(self) -> None:
        try:
            message = json.loads(self.control.recv(4096) or b"null")
        except BlockingIOError:
            return
        except (OSError, ValueError):
            message = None
        if not isinstance(message, dict):
            self._gone()
            return
        child = self.children.get(message.get("id", -1))
        if child is None:
            return
        if "pid" in message:
            child.pid.set_result(message["pid"])
        else:
            self.children.pop(message["id"])
            child.exit.set_result(message.get("exit"))

    def _gone(self) -> None:
        """The zygote closed its end (it died): every child in flight gets an unknown pid or exit."""
        if not self.alive:
            return
        self.alive = False
        self.loop.remove_reader(self.control.fileno())
        self.control.close()
        for child in self.children.values():
            for future in (child.pid, child.exit):
                if not future.done():
                    future.set_result(None)
        self.children.clear()

    async def close(self) -> None:
        """Close the socket: the zygote kills its children and exits; wait for it, without a thread."""
        self._gone()
        for _ in range(int(ZYGOTE_EXIT_SECONDS / 0.01)):
            if self.process.poll() is not None:
                return
            await asyncio.sleep(0.01)
        self.process.kill()
        self.process.wait()


class Sandbox:
    """The worker's zygote (started on first use, again if it dies) and the way to parse one file."""

    def __init__(self, program: tuple[str, ...] = ZYGOTE_PROGRAM) -> None:
        self.program = program  # tests pass a probe script that serves a zygote of its own
        self._zygote: _Zygote | None = None
        self._ids = itertools.count()

    @property
    def zygote_pid(self) -> int | None:
        """The running zygote's process id (for diagnostics and tests)."""
        return self._zygote.process.pid if self._zygote is not None and self._zygote.alive else None

    def start(self) -> None:
        """Start the zygote now rather than at the first file (call it on the worker's event loop)."""
        if self._zygote is None or not self._zygote.alive:
            if self._zygote is not None:
                self._zygote.process.poll()  # reap the one that died
            self._zygote = _Zygote.start(self.program)

    async def aclose(self) -> None:
        if self._zygote is not None:
            await self._zygote.close()
            self._zygote = None

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def extract(self, path: Path, content_type: str, limits: SandboxLimits) -> Extracted:
        """The file's text, from a sandboxed child; or ExtractionError with a reason and an outcome."""
        try:
            extracted = await self._run(path, content_type, limits)
        except ExtractionError as exc:
            SANDBOX_OUTCOMES.labels(exc.outcome).inc()
            raise
        SANDBOX_OUTCOMES.labels("ok").inc()
        OCR_PAGES.inc(extracted.ocr_pages)
        return extracted

    async def _run(self, path: Path, content_type: str, limits: SandboxLimits) -> Extracted:
        self.start()
        assert self._zygote is not None
        request = {
            "content_type": content_type,
            "memory_bytes": limits.memory_bytes,
            "cpu_seconds": limits.cpu_seconds,
            "open_files": limits.open_files,
            "file_bytes": limits.file_bytes,
            "ocr": limits.ocr.to_request() if limits.ocr is not None else None,
        }
        report_fd, report_end = os.pipe()
        stderr_fd, stderr_end = os.pipe()
        try:
            with path.open("rb") as document:
                child = self._zygote.fork(
                    next(self._ids), request, [document.fileno(), report_end, stderr_end]
                )
        finally:
            os.close(report_end)
            os.close(stderr_end)
        loop = asyncio.get_running_loop()
        # wrapped at once, so a cancel at any await below still closes both
        report_file, stderr_file = (
            os.fdopen(report_fd, "rb", buffering=0),
            os.fdopen(stderr_fd, "rb", buffering=0),
        )
        pipes: list[asyncio.ReadTransport] = []
        pid: int | None = None
        try:
            report_pipe, report_reader = await _read_pipe(loop, report_file)
            pipes.append(report_pipe)
            stderr_pipe, stderr_reader = await _read_pipe(loop, stderr_file)
            pipes.append(stderr_pipe)
            try:
                # not wait_for: on Python 3.11 it returns the pid and drops a cancel that lands as the
                # pid comes, and the job then ran to its wall-clock limit (CI saw it)
                async with asyncio.timeout(ZYGOTE_ANSWER_SECONDS):
                    pid = await asyncio.shield(child.pid)
            except TimeoutError:
                pid = None
            if pid is None:
                raise SandboxUnavailableError("the extraction zygote did not fork a child")
            return await _outcome(child, pid, report_reader, stderr_reader, limits)
        finally:
            # timed out, cancelled (SIGTERM), or orphaned by a zygote that died: never leave it running
            if pid is None:  # cancelled before the zygote said which child it forked: once it does
                child.pid.add_done_callback(functools.partial(_kill_once_forked, child))
            elif not child.exit.done() or child.exit.result() is None:
                _kill_session(pid)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(child.exit), ZYGOTE_EXIT_SECONDS)
            for pipe in pipes:
                pipe.close()  # and its file, once the loop has let go of it
            for file in (report_file, stderr_file)[len(pipes) :]:
                file.close()  # never handed to a transport


async def _outcome(
    child: _Child,
    pid: int,
    report_reader: asyncio.StreamReader,
    stderr_reader: asyncio.StreamReader,
    limits: SandboxLimits,
) -> Extracted:
    try:
        async with asyncio.timeout(limits.wall_seconds), asyncio.TaskGroup() as tasks:
            report = tasks.create_task(_report_or_kill(report_reader, pid))
            stderr = tasks.create_task(_head(stderr_reader, STDERR_KEPT_BYTES))
            exit_code = await asyncio.shield(child.exit)  # a timeout cancels this wait, not the future
            _kill_session(pid)  # whatever it started dies with it, and the pipes those held close
    except TimeoutError:
        raise ExtractionError(
            f"Processing took longer than {limits.wall_seconds:g} seconds.", "timeout"
        ) from None
    if exit_code is None:
        raise SandboxUnavailableError("the extraction zygote exited while a child ran")
    return _result(exit_code, report.result(), stderr.result(), limits)


async def _read_pipe(
    loop: asyncio.AbstractEventLoop, pipe: BinaryIO
) -> tuple[asyncio.ReadTransport, asyncio.StreamReader]:
    reader = asyncio.StreamReader(limit=1 << 16, loop=loop)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), pipe)
    return transport, reader


def _result(returncode: int, raw: bytes | None, stderr: bytes, limits: SandboxLimits) -> Extracted:
    """Turn how the child ended (its exit code, negative for a signal) into text, or an ExtractionError."""
    if raw is None:
        raise ExtractionError("Processing the file produced more output than allowed.", "output")
    if returncode == -signal.SIGXCPU:
        raise ExtractionError(f"Processing used more than {limits.cpu_seconds} seconds of CPU time.", "cpu")
    if returncode == -signal.SIGKILL:  # not ours: the kernel's OOM killer (or the CPU hard limit)
        raise ExtractionError(MEMORY_REASON, "memory")
    report = None
    if returncode == 0:
        with contextlib.suppress(msgspec.DecodeError):  # ValidationError is a DecodeError
            report = _decode_report(raw)
    if report is None or (report.outcome != "ok" and not report.reason):
        logger.warning(
            "extraction child failed",
            extra={"returncode": returncode, "stderr": stderr.decode("utf-8", "replace")},
        )
        raise ExtractionError("The file crashed the parser.", "crash")
    if report.outcome != "ok":
        assert report.reason is not None
        raise ExtractionError(report.reason, report.outcome)
    thumbnail = None
    if report.thumbnail is not None:
        with contextlib.suppress(binascii.Error):  # a lying child loses its thumbnail, nothing more
            thumbnail = base64.b64decode(report.thumbnail, validate=True)
    return Extracted(
        report.text, report.title, report.page_count, report.word_count, report.encoding, report.ocr_pages,
        report.notice, thumbnail,
    )  # fmt: skip


async def _report_or_kill(reader: asyncio.StreamReader, pid: int) -> bytes | None:
    """The child's report, or None (and the child killed) once it passes MAX_REPORT_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await reader.read(1 << 20):
        size += len(chunk)
        if size > MAX_REPORT_BYTES:
            _kill_session(pid)
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _head(reader: asyncio.StreamReader, keep: int) -> bytes:
    """The first ``keep`` bytes of ``reader``; the rest is read and dropped, so the writer never blocks."""
    kept = bytearray()
    while chunk := await reader.read(1 << 16):
        if len(kept) < keep:
            kept += chunk[: keep - len(kept)]
    return bytes(kept)


def _kill_once_forked(child: _Child, forked: asyncio.Future[int | None]) -> None:
    """Kill a child whose job ended before its pid came, unless the zygote has reaped it already."""
    if forked.cancelled() or forked.exception() is not None or (pid := forked.result()) is None:
        return
    if child.exit.done():
        return
    _kill_session(pid)
    # just forked, it may not have called setsid yet: no group of that id exists, and it started nothing
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def _kill_session(pid: int) -> None:
    # the child leads its own session and process group (setsid), so its group id is its pid; a group id
    # is not reused while a process of that group is alive
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
