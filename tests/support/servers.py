"""Run Docket's ASGI apps for tests over real HTTP: in a thread, or as a real process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import httpx
import uvicorn
from embedded_services import free_port, wait_for_port

from docket_core.http.plugin import management_port_of

Server = TypeVar("Server", bound=socketserver.BaseServer)


@contextlib.contextmanager
def serving_in_background(server: Server) -> Iterator[Server]:
    """``server`` (a stand-in collector, gateway or API) serving from a daemon thread while the block
    runs; shut down and closed after it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class ServedUrl(str):
    """A server's public base URL that also knows where its probes and metrics answer."""

    management: str

    def __new__(cls, url: str, management: str) -> ServedUrl:
        served = super().__new__(cls, url)
        served.management = management
        return served


def _listening_socket(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class ThreadedServer:
    """uvicorn serving ``app`` in a background thread on a free loopback port, and on the app's
    management port too when it has one (as ``docket-api serve`` does: one server, two sockets)."""

    def __init__(self, app: Any) -> None:
        self.sockets = [_listening_socket(0)]
        self.port = self.sockets[0].getsockname()[1]
        self.management_port = management_port_of(app)
        if self.management_port is not None:
            self.sockets.append(_listening_socket(self.management_port))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="on",
            loop="asyncio", timeout_graceful_shutdown=5, proxy_headers=False,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": self.sockets}, daemon=True)

    @property
    def url(self) -> ServedUrl:
        return ServedUrl(f"http://127.0.0.1:{self.port}", self.management_url)

    @property
    def management_url(self) -> str:
        """Where /healthz, /readyz and /metrics answer (the public port itself for the worker)."""
        return f"http://127.0.0.1:{self.management_port or self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        for sock in self.sockets:
            sock.close()


@contextlib.contextmanager
def service_process(
    argv: list[str], env: Mapping[str, str], port: int, ready_path: str = "/healthz"
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a service CLI as a real process and wait until ``ready_path`` answers.

    The probe is asked on ``MANAGEMENT_PORT`` (api and web). A server (``serve``) not given one gets a free
    port for it, never the default 8001/8081, which another process on the machine may hold. The worker
    has one port, ``port``.
    """
    if "serve" in argv and "MANAGEMENT_PORT" not in env:
        env = {**env, "MANAGEMENT_PORT": str(free_port())}
    probe_port = int(env.get("MANAGEMENT_PORT") or port)
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: WORKERS>1 forks servers that outlive a killed parent
    )
    try:
        try:
            wait_for_port(probe_port, timeout=60)
        except TimeoutError as exc:
            raise RuntimeError(f"{argv} never listened on {probe_port}: {_drain(proc)}") from exc
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{probe_port}{ready_path}", timeout=1).status_code < 500:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{argv} did not become ready: {_drain(proc)}")
            time.sleep(0.05)
        yield proc
    finally:
        _kill_group(proc)
        proc.wait(10)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and whatever it forked (its group outlives it while a child runs)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _drain(proc: subprocess.Popen[bytes]) -> str:
    _kill_group(proc)
    out = proc.stdout.read() if proc.stdout else b""
    return out.decode(errors="replace")[-3000:]


def cli(name: str) -> list[str]:
    """The console script of a workspace package, from the running interpreter's venv."""
    return [os.path.join(os.path.dirname(sys.executable), name)]


def stop_and_read(proc: subprocess.Popen[bytes], timeout: float = 30) -> str:
    """SIGTERM a service process, wait for it to exit, and return everything it printed."""
    import pytest

    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"the service did not exit on SIGTERM:\n{out.decode(errors='replace')[-3000:]}")
    return out.decode(errors="replace")


@contextlib.contextmanager
def worker_process(database_url: str, redis_url: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`docket-worker run` as a real process on a free port (as ``.port``), polling the queue every 0.5 s
    and logging warnings; keyword arguments are more environment, or replace these."""
    port = free_port()
    settings = {
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "WORKER_POLL_INTERVAL_SECONDS": "0.5",
        **env,
    }
    with service_process([*cli("docket-worker"), "run"], settings, port) as process:
        process.port = port  # type: ignore[attr-defined]
        yield process
