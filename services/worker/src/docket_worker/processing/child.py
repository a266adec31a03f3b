"""The sandboxed child: ``python -I -m docket_worker.processing.child REQUEST`` extracts one file.

The worker (sandbox.py) starts it as a fresh interpreter with an empty environment, the file on stdin,
a pipe on stdout for the one JSON report, and a session of its own. Before it reads a byte of the file
the child lowers its priority and sets its own hard limits (address space, CPU time, open files, file
size, no core files, no new processes), so whatever the file makes the parser do stays inside them.

Only the standard library and the extraction code are imported here: each child is a new interpreter,
and its start-up cost is paid per document.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import resource
import sys
import warnings
from collections.abc import Callable
from typing import Any

from docket_worker.processing.extract import MAX_REASON_CHARS, Extracted, ExtractionError, extract, prepare

NICENESS = 10  # the worker's event loop (probes, leases) wins the CPU over a busy child

Work = Callable[[bytes, str], Extracted]


def apply_limits(request: dict[str, Any]) -> None:
    """Lower this process's limits for good: soft and hard alike, so the file cannot raise them again."""
    cpu = int(request["cpu_seconds"])
    limits = {
        resource.RLIMIT_AS: int(request["memory_bytes"]),
        resource.RLIMIT_NOFILE: int(request["open_files"]),
        resource.RLIMIT_FSIZE: int(request["file_bytes"]),
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_NPROC: 0,  # no fork, no thread (root is exempt; the parent kills the whole session)
    }
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))
    # at the soft limit the kernel sends SIGXCPU, which ends the child; SIGKILL a second later if it is caught
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def run(work: Work, data: bytes, content_type: str) -> dict[str, Any]:
    """Run ``work`` and describe what happened as the report the parent reads."""
    try:
        extracted = work(data, content_type)
    except ExtractionError as exc:
        return _failure(exc.outcome, exc.reason)
    except MemoryError:
        return _failure("memory", "The file needs too much memory to process.")
    except RecursionError:
        return _failure("refused", "The file is nested too deeply to process.")
    except OSError as exc:
        if exc.errno == errno.EMFILE:
            return _failure("files", "Processing the file tried to open too many files.")
        if exc.errno == errno.EFBIG:
            return _failure("disk", "Processing the file tried to write to disk.")
        return _failure("crash", f"The file could not be read ({type(exc).__name__}).")
    except Exception as exc:  # whatever a malformed file provokes, the parent gets a reason, not a traceback
        return _failure("crash", f"The file could not be read ({type(exc).__name__}).")
    return {"outcome": "ok", **extracted._asdict()}


def _failure(outcome: str, reason: str) -> dict[str, Any]:
    return {"outcome": outcome, "reason": reason[:MAX_REASON_CHARS]}


def serve(work: Work) -> None:
    """Read the request and the file, apply the limits, run ``work``, write the report, and exit."""
    request = json.loads(sys.argv[1])
    # keep only stdin, stdout and stderr: uvloop's spawn (the worker's loop) leaves its own plumbing
    # and any descriptor the worker holds without close-on-exec open in the child
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    report_fd = os.dup(1)
    os.dup2(2, 1)  # a stray print() from a library goes to stderr, never into the report
    logging.disable(logging.CRITICAL)  # parsers log warnings per damaged object: noise, and a pipe to fill
    warnings.simplefilter("ignore")
    prepare(request["content_type"])
    os.nice(NICENESS)
    apply_limits(request)
    with os.fdopen(0, "rb") as document:
        data = document.read()
    report = run(work, data, request["content_type"])
    del data
    try:  # a lone surrogate (a PDF can hold one) becomes "?": the report is always valid UTF-8
        payload = json.dumps(report, ensure_ascii=False).encode("utf-8", "replace")
    except MemoryError:
        payload = json.dumps(_failure("memory", "The file needs too much memory to process.")).encode()
    with os.fdopen(report_fd, "wb") as out:
        out.write(payload)
    os._exit(0)  # no interpreter teardown: nothing is left to flush, and it only costs time


if __name__ == "__main__":
    serve(extract)
