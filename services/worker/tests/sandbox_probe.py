"""A stand-in parser for the sandbox tests: a zygote like the worker's, whose children run a probe.

The "document" it is given is JSON that names one thing a hostile file could make a parser do; the
probe does it inside the same limits, environment and session as a real extraction.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any

from docket_worker.processing.extract import Extracted
from docket_worker.processing.zygote import serve

LIMITS = {
    "as": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU, "nofile": resource.RLIMIT_NOFILE,
    "fsize": resource.RLIMIT_FSIZE, "core": resource.RLIMIT_CORE, "nproc": resource.RLIMIT_NPROC,
}  # fmt: skip


def _answer(facts: dict[str, Any]) -> Extracted:
    return Extracted(json.dumps(facts), None, None, 0)


def _target(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "?"


def _inside() -> Extracted:
    """What the child can see of itself: its environment, limits, priority, session and open files."""
    with open("/proc/self/environ", "rb") as environ:
        initial = environ.read()
    return _answer(
        {
            "proc_environ": initial.decode("utf-8", "replace"),
            "os_environ": dict(os.environ),
            "limits": {name: list(resource.getrlimit(which)) for name, which in LIMITS.items()},
            "niceness": os.nice(0),
            "session_leader": os.getsid(0) == os.getpid(),
            "open_fds": {fd: _target(fd) for fd in sorted(os.listdir("/proc/self/fd"), key=int)},
        }
    )


def _fork() -> Extracted:
    try:
        pid = os.fork()
    except OSError as exc:
        return _answer({"forked": None, "error": exc.errno})
    if pid == 0:  # the grandchild: outlive the child, if nothing stops it
        time.sleep(300)
        os._exit(0)
    return _answer({"forked": pid})


def probe(data: bytes, content_type: str) -> Extracted:
    order = json.loads(data)
    action = order["action"]
    if action == "inside":
        return _inside()
    if action == "spin":
        while True:
            pass
    if action == "sleep":
        time.sleep(3600)
    if action == "allocate":
        hog = bytearray(order["bytes"])
        return _answer({"allocated": len(hog)})
    if action == "open_files":
        held = [open(os.devnull, "rb") for _ in range(10_000)]  # noqa: SIM115
        return _answer({"opened": len(held)})
    if action == "write_file":
        name = f"/tmp/docket-sandbox-probe-{os.getpid()}"
        try:
            with open(name, "wb") as out:
                out.write(b"x" * 4096)
        finally:
            os.unlink(name)
        return _answer({"written": True})
    if action == "fork":
        return _fork()
    if action == "flood":
        return Extracted("x" * order["chars"], None, None, 0)
    if action == "forge_title":
        return Extracted("text", "t" * order["chars"], None, 1)
    if action == "print_then_answer":
        print("p" * order["chars"])  # stdout: must not reach the report
        sys.stdout.flush()
        return Extracted("the real answer", None, None, 3)
    if action == "abort":
        os.abort()
    raise ValueError(f"unknown action {action!r}")


if __name__ == "__main__":
    serve(probe)
