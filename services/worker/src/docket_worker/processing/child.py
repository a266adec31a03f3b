"""One sandboxed child: forked by the zygote (zygote.py) for one file, it limits itself, then parses.

Before it reads a byte of the file the child leaves the zygote's session, keeps only its three
descriptors (the file, the report pipe, stderr), lowers its priority and sets its own hard limits
(address space, CPU time, open files, file size, no core file, no new process), so whatever the file
makes the parser do stays inside them. It writes one JSON report and exits without cleaning up.
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import resource
import traceback
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

from docket_worker.processing.extract import MAX_REASON_CHARS, Extracted, ExtractionError, configure_ocr
from docket_worker.processing.ocr import OcrOptions

NICENESS = 10  # the worker's event loop (probes, leases) wins the CPU over a busy child
REPORT_FD = 3

Work = Callable[[bytes, str], Extracted]


def apply_limits(request: dict[str, Any]) -> None:
    """Lower this process's limits for good: soft and hard alike, so the file cannot raise them again."""
    cpu = int(request["cpu_seconds"])
    limits = {
        resource.RLIMIT_AS: int(request["memory_bytes"]),
        resource.RLIMIT_NOFILE: int(request["open_files"]),
        resource.RLIMIT_FSIZE: int(request["file_bytes"]),
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_NPROC: 0,  # no fork, no thread (root is exempt; the worker kills the whole session)
    }
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))
    # at the soft limit the kernel sends SIGXCPU, which ends the child; SIGKILL a second later if it is caught
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def run(work: Work, data: bytes, content_type: str) -> dict[str, Any]:
    """Run ``work`` and describe what happened as the report the worker reads."""
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
    except Exception as exc:  # whatever a malformed file provokes, the worker gets a reason, not a traceback
        return _failure("crash", f"The file could not be read ({type(exc).__name__}).")
    report = extracted._asdict()
    if extracted.thumbnail is not None:  # JSON carries text: the WebP bytes travel as base64
        report["thumbnail"] = base64.b64encode(extracted.thumbnail).decode("ascii")
    return {"outcome": "ok", **report}


def _failure(outcome: str, reason: str) -> dict[str, Any]:
    return {"outcome": outcome, "reason": reason[:MAX_REASON_CHARS]}


def become_child(request: dict[str, Any], work: Work, document: int, report: int, stderr: int) -> NoReturn:
    """In a fresh fork of the zygote: sandbox this process, run ``work`` on the file, report, and exit."""
    try:
        os.setsid()  # a session and process group of its own: the worker kills the group, not just the child
        os.dup2(document, 0)
        os.dup2(stderr, 2)
        os.dup2(stderr, 1)  # a stray print() from a library goes to stderr, never into the report
        os.dup2(report, REPORT_FD)
        os.closerange(REPORT_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])  # the zygote's own
        logging.disable(
            logging.CRITICAL
        )  # parsers log warnings per damaged object: noise, and a pipe to fill
        warnings.simplefilter("ignore")
        os.nice(NICENESS)
        configure_ocr(OcrOptions.from_request(request.get("ocr")))
        apply_limits(request)
        _report(_extract(work, request["content_type"]))
    except BaseException:
        traceback.print_exc()  # to the stderr pipe, whose head the worker logs
        os._exit(1)
    os._exit(0)  # never return into the zygote's loop; no teardown: nothing is left to flush


def _extract(work: Work, content_type: str) -> dict[str, Any]:
    try:
        with os.fdopen(0, "rb") as file:
            data = file.read()
    except MemoryError:
        return _failure("memory", "The file needs too much memory to process.")
    return run(work, data, content_type)


def _report(outcome: dict[str, Any]) -> None:
    try:  # a lone surrogate (a PDF can hold one) becomes "?": the report is always valid UTF-8
        payload = json.dumps(outcome, ensure_ascii=False).encode("utf-8", "replace")
    except MemoryError:
        payload = json.dumps(_failure("memory", "The file needs too much memory to process.")).encode()
    with os.fdopen(REPORT_FD, "wb") as out:
        out.write(payload)
