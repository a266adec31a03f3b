"""Run an ASGI app factory under uvicorn with Docket's production settings."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import ChangeReload, Multiprocess

from docket_core.settings import CommonSettings

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def serve(factory_path: str, settings: CommonSettings, management_port: int | None = None) -> None:
    """Serve ``module:factory`` until SIGTERM; in-flight requests get ``SHUTDOWN_GRACE_SECONDS``.

    The parent binds ``PORT`` and, when given, ``management_port`` (the app tells them apart, see
    :mod:`docket_core.http.management`); every server process (``WORKERS``, or the one the reloader
    restarts) serves both sockets. This is what ``uvicorn.run`` does, with two sockets instead of one.
    """
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # must be set before any worker imports prometheus_client
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")
    with _exit_zero_on_shutdown_signals():
        config = uvicorn.Config(
            factory_path,
            factory=True,
            reload=settings.reload,
            # the development loop (skaffold sync) rewrites Docket's own packages only
            reload_dirs=_docket_package_dirs() if settings.reload else None,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            log_config=None,
            access_log=False,
            proxy_headers=False,  # X-Forwarded-For is resolved by the app against TRUSTED_PROXIES
            server_header=False,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
            timeout_keep_alive=5,
        )
        ports = [settings.port] if management_port is None else [settings.port, management_port]
        sockets = [bind_socket(settings.host, port) for port in ports]
        server = uvicorn.Server(config)
        if config.should_reload:
            ChangeReload(config, target=server.run, sockets=sockets).run()
        elif config.workers > 1:
            Multiprocess(config, sockets=sockets).run()
        else:
            config.load_app()
            server.run(sockets=sockets)
            if not server.started:
                sys.exit(STARTUP_FAILURE)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket the server processes inherit; a port in use is a one-line exit."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        sys.exit(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    sock.set_inheritable(True)
    return sock


DOCKET_PACKAGES = ("docket_core", "docket_api", "docket_worker", "docket_web")
RELOAD_TREE = Path(tempfile.gettempdir()) / "docket-src"


def _docket_package_dirs() -> list[str]:
    """Where the reloader watches. In a container the installed code is read-only, so it is copied
    to /tmp/docket-src first and put ahead of site-packages: Skaffold syncs changed files there."""
    found = []
    for name in DOCKET_PACKAGES:
        spec = importlib.util.find_spec(name)
        if not spec or not spec.submodule_search_locations:
            continue
        location = Path(next(iter(spec.submodule_search_locations)))
        if os.access(location, os.W_OK):
            found.append(str(location))  # an editable checkout: watch it in place
            continue
        shutil.copytree(location, RELOAD_TREE / name, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        found.append(str(RELOAD_TREE / name))
    if RELOAD_TREE.exists():
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(RELOAD_TREE), os.environ.get("PYTHONPATH")])
        )
        sys.path.insert(0, str(RELOAD_TREE))
    return found


@contextlib.contextmanager
def _exit_zero_on_shutdown_signals() -> Iterator[None]:
    """Let a drained shutdown on SIGTERM/SIGINT end the process with status 0.

    While it serves, uvicorn owns the SIGTERM/SIGINT handlers. After a graceful shutdown it puts back
    the handlers it found and raises the signal again; with SIGTERM's default disposition the process
    would then die of the signal (status -15/143) although it drained cleanly, and supervisors would
    count a crash. The handlers installed here are the ones uvicorn finds and puts back: the re-raised
    signal, or one that arrives before uvicorn serves, exits with status 0.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _exit_zero) for sig in SHUTDOWN_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_zero(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
