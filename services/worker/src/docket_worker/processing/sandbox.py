"""Run extraction where one hostile file cannot stall the worker, starve its jobs, or reach its secrets.

Every file, whatever its type, is parsed by a new ``python -I -m docket_worker.processing.child``:

- started with an empty environment (no DATABASE_URL, REDIS_URL or secrets), no inherited file
  descriptors but the file on stdin and two pipes, and a session of its own, so that it and anything it
  starts can be killed together;
- limited by itself before it reads the file (child.py): address space, CPU time, open files, file size,
  no core file, no new process, and a lower priority than the worker;
- killed here at a wall-clock deadline;
- answering with one JSON report that is read up to a size bound and decoded into typed, bounded
  fields: nothing the child sends is unpickled or trusted beyond those fields.

The worker waits for the child on its event loop, with no thread, so its probes, leases and other jobs
go on while the child works.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from docket_worker.processing.extract import (
    MAX_REASON_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    Extracted,
    ExtractionError,
)
from docket_worker.processing.metrics import SANDBOX_OUTCOMES
from docket_worker.settings import WorkerSettings

logger = logging.getLogger("docket.worker.sandbox")

CHILD_PROGRAM = ("-m", "docket_worker.processing.child")
OPEN_FILES = 32  # stdin, stdout, stderr and the report pipe, with room for a module import
FILE_BYTES = 0  # no parser writes files
STDERR_KEPT_BYTES = 4096
# JSON spends at most 6 bytes on a character ("\u001f"); plus room for the field names and numbers
MAX_REPORT_BYTES = 6 * (MAX_TEXT_CHARS + MAX_TITLE_CHARS + MAX_REASON_CHARS) + 4096
MEMORY_REASON = "The file needs too much memory to process."


@dataclass(frozen=True)
class SandboxLimits:
    """What one child may use: wall-clock and CPU seconds, address space, open files, bytes per file."""

    wall_seconds: float
    cpu_seconds: int
    memory_bytes: int
    open_files: int = OPEN_FILES
    file_bytes: int = FILE_BYTES

    @classmethod
    def from_settings(cls, settings: WorkerSettings) -> SandboxLimits:
        return cls(
            wall_seconds=settings.worker_extract_timeout_seconds,
            cpu_seconds=math.ceil(settings.extract_cpu_seconds),
            memory_bytes=settings.worker_extract_memory_mb * 1024 * 1024,
        )


ChildOutcome = Literal["ok", "refused", "memory", "files", "disk", "crash"]


class _Report(msgspec.Struct, forbid_unknown_fields=True):
    """The child's one message; every field is bounded, so a lying child gets nothing large through."""

    outcome: ChildOutcome
    reason: Annotated[str, msgspec.Meta(max_length=MAX_REASON_CHARS)] | None = None
    text: Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)] = ""
    title: Annotated[str, msgspec.Meta(max_length=MAX_TITLE_CHARS)] | None = None
    page_count: Annotated[int, msgspec.Meta(ge=0)] | None = None
    word_count: Annotated[int, msgspec.Meta(ge=0)] = 0


_decode_report = msgspec.json.Decoder(_Report).decode


async def extract_safely(
    path: Path, content_type: str, limits: SandboxLimits, *, program: tuple[str, ...] = CHILD_PROGRAM
) -> Extracted:
    """Extract the file's text in a sandboxed child; raises ExtractionError with a reason and an outcome.

    ``program`` is the child's module or script; tests pass a probe that runs child.py's ``serve`` too.
    """
    try:
        extracted = await _run_child(path, content_type, limits, program)
    except ExtractionError as exc:
        SANDBOX_OUTCOMES.labels(exc.outcome).inc()
        raise
    SANDBOX_OUTCOMES.labels("ok").inc()
    return extracted


async def _run_child(
    path: Path, content_type: str, limits: SandboxLimits, program: tuple[str, ...]
) -> Extracted:
    request = json.dumps(
        {
            "content_type": content_type,
            "memory_bytes": limits.memory_bytes,
            "cpu_seconds": limits.cpu_seconds,
            "open_files": limits.open_files,
            "file_bytes": limits.file_bytes,
        }
    )
    loop = asyncio.get_running_loop()
    with path.open("rb") as document:
        transport, protocol = await loop.subprocess_exec(
            lambda: _ChildProtocol(loop), sys.executable, "-I", *program, request,
            stdin=document, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={}, cwd="/", start_new_session=True,
        )  # fmt: skip
    child = asyncio.subprocess.Process(transport, protocol, loop)
    timed_out = False
    try:
        async with asyncio.timeout(limits.wall_seconds), asyncio.TaskGroup() as tasks:
            report = tasks.create_task(_report_or_kill(child))
            stderr = tasks.create_task(_head(child.stderr, STDERR_KEPT_BYTES))
            await asyncio.shield(protocol.exited)  # a timeout cancels this wait, not the future
            _kill_session(child.pid)  # whatever it started dies with it, and the pipes those held close
    except TimeoutError:
        timed_out = True
    finally:
        try:
            if transport.get_returncode() is None:  # timed out, or the job was cancelled (SIGTERM)
                _kill_session(child.pid)
                await asyncio.shield(protocol.exited)
        finally:
            transport.close()
    if timed_out:
        raise ExtractionError(f"Processing took longer than {limits.wall_seconds:g} seconds.", "timeout")
    returncode = transport.get_returncode()
    assert returncode is not None
    return _result(returncode, report.result(), stderr.result(), limits)


class _ChildProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The child's pipes as streams, and ``exited`` as soon as the child itself ends.

    asyncio's ``Process.wait()`` also waits for the pipes to close, and a process the child started
    could hold them open for as long as it likes.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=1 << 16, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


def _result(returncode: int, raw: bytes | None, stderr: bytes, limits: SandboxLimits) -> Extracted:
    """Turn how the child ended into text, or an ExtractionError that says why not."""
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
    return Extracted(report.text, report.title, report.page_count, report.word_count)


async def _report_or_kill(child: asyncio.subprocess.Process) -> bytes | None:
    """The child's stdout, or None (and the child killed) once it passes MAX_REPORT_BYTES."""
    assert child.stdout is not None
    chunks: list[bytes] = []
    size = 0
    while chunk := await child.stdout.read(1 << 20):
        size += len(chunk)
        if size > MAX_REPORT_BYTES:
            _kill_session(child.pid)
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _head(stream: asyncio.StreamReader | None, keep: int) -> bytes:
    """The first ``keep`` bytes of ``stream``; the rest is read and dropped, so the writer never blocks."""
    assert stream is not None
    kept = bytearray()
    while chunk := await stream.read(1 << 16):
        if len(kept) < keep:
            kept += chunk[: keep - len(kept)]
    return bytes(kept)


def _kill_session(pid: int) -> None:
    # the child leads its own session and process group (start_new_session), so its group id is its pid;
    # a group id is not reused while a process of that group is alive
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
