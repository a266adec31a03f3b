"""Run an ASGI app factory under uvicorn with Docket's production settings."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import uvicorn

from docket_core.settings import CommonSettings

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def serve(factory_path: str, settings: CommonSettings) -> None:
    """Serve ``module:factory`` until SIGTERM; in-flight requests get ``SHUTDOWN_GRACE_SECONDS``."""
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # must be set before any worker imports prometheus_client
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")
    with _exit_zero_on_shutdown_signals():
        uvicorn.run(
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
