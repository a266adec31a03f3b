"""The zygote: ``python -I -m docket_worker.processing.zygote`` forks one sandboxed child per file.

The worker starts it once (sandbox.py) as a new interpreter with an empty environment, in a session
of its own, with one end of a SOCK_SEQPACKET socket pair as stdin and nothing else of the worker's.
It imports the parsers once, so a child costs a fork rather than an interpreter's start-up. For each
request (a JSON message with the file, the report pipe and the stderr pipe attached as descriptors)
it forks a child (child.py), answers ``{"id", "pid"}``, and ``{"id", "exit"}`` once it has reaped it.
It parses nothing itself. When the worker's end closes, it kills its children and exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys
from typing import NoReturn

from docket_worker.processing.child import Work, become_child
from docket_worker.processing.extract import extract, prepare

MAX_REQUEST_BYTES = 4096
FILE_DESCRIPTORS = 3  # the file, the report pipe, the stderr pipe


class _Zygote:
    def __init__(self, work: Work) -> None:
        self.work = work
        self.control = socket.socket(fileno=0)
        self.children: dict[int, int] = {}  # pid -> request id
        self.wake, wake_writer = os.pipe()
        os.set_blocking(wake_writer, False)
        signal.set_wakeup_fd(wake_writer)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # only to write to the wake-up pipe

    def serve(self) -> None:
        poller = select.poll()
        poller.register(self.control, select.POLLIN)
        poller.register(self.wake, select.POLLIN)
        while True:
            for fd, _ in poller.poll():
                if fd == self.wake:
                    os.read(self.wake, 4096)
                    self._reap()
                elif not self._fork_one():
                    return

    def _fork_one(self) -> bool:
        """Fork a child for the next request; False once the worker has gone."""
        try:
            message, fds, _, _ = socket.recv_fds(self.control, MAX_REQUEST_BYTES, FILE_DESCRIPTORS)
        except InterruptedError:
            return True
        if not message:
            return False
        request = json.loads(message)
        if len(fds) != FILE_DESCRIPTORS:
            for fd in fds:
                os.close(fd)
            return self._send({"id": request["id"], "pid": None})
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            become_child(request, self.work, *fds)
        for fd in fds:
            os.close(fd)
        self.children[pid] = request["id"]
        return self._send({"id": request["id"], "pid": pid})

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            request_id = self.children.pop(pid, None)
            if request_id is not None:
                self._send({"id": request_id, "exit": os.waitstatus_to_exitcode(status)})

    def _send(self, message: dict[str, int | None]) -> bool:
        try:
            self.control.send(json.dumps(message).encode())
        except OSError:
            return False  # the worker has gone
        return True

    def stop(self) -> None:
        for pid in self.children:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def serve(work: Work) -> NoReturn:
    """Run a zygote whose children apply ``work`` to each file; tests pass a probe instead of extract."""
    prepare()  # once, here, rather than in every child
    zygote = _Zygote(work)
    try:
        zygote.serve()
    finally:
        zygote.stop()
    sys.exit(0)


if __name__ == "__main__":
    serve(extract)
