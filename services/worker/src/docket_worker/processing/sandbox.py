"""Run extraction where one hostile file cannot stall or kill the worker.

PDF and HTML are parsed in a child process with an address-space limit and a wall-clock limit;
plain text types are only decoded, so they run in a thread.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import resource
from pathlib import Path
from typing import Any

import anyio

from docket_worker.processing.extract import Extracted, ExtractionError, extract

SANDBOXED_TYPES = frozenset({"application/pdf", "text/html"})
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["docket_worker.processing.extract", "pypdf"])


def _child(
    path: str, content_type: str, memory_bytes: int, sender: multiprocessing.connection.Connection
) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        result: Any = extract(Path(path), content_type)
    except ExtractionError as exc:
        result = exc
    except MemoryError:
        result = ExtractionError("The file needs too much memory to process.")
    except Exception as exc:  # whatever a malformed file provokes, the parent gets a reason, not a crash
        result = ExtractionError(f"The file could not be read ({type(exc).__name__}).")
    sender.send(result)
    sender.close()


def _run_in_child(path: Path, content_type: str, timeout: float, memory_bytes: int) -> Extracted:
    receiver, sender = _context.Pipe(duplex=False)
    process = _context.Process(
        target=_child, args=(str(path), content_type, memory_bytes, sender), daemon=True
    )
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise ExtractionError(f"Processing took longer than {timeout:g} seconds.")
        try:
            result = receiver.recv()
        except EOFError:
            raise ExtractionError(
                "The file needs too much memory to process, or crashed the parser."
            ) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if isinstance(result, ExtractionError):
        raise result
    return result  # type: ignore[no-any-return]


async def extract_safely(path: Path, content_type: str, limit_seconds: float, memory_bytes: int) -> Extracted:
    """Extract with a time limit (and for parsed formats, a memory limit); raises ExtractionError."""
    if content_type in SANDBOXED_TYPES:
        return await anyio.to_thread.run_sync(_run_in_child, path, content_type, limit_seconds, memory_bytes)
    try:
        with anyio.fail_after(limit_seconds):
            return await anyio.to_thread.run_sync(extract, path, content_type)
    except TimeoutError:
        raise ExtractionError(f"Processing took longer than {limit_seconds:g} seconds.") from None
