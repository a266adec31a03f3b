"""Process lifecycle: readiness turns false the moment SIGTERM or SIGINT arrives."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

logger = logging.getLogger("docket.lifecycle")


class Lifecycle:
    """Shared shutdown flag that readiness probes read."""

    def __init__(self) -> None:
        self._draining = threading.Event()
        self._callbacks: list[Callable[[], None]] = []

    def on_drain(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once shutdown begins (from the signal handler: keep it short)."""
        self._callbacks.append(callback)

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def begin_drain(self) -> None:
        """Mark the process as shutting down; readiness answers 503 from now on."""
        if self._draining.is_set():
            return
        logger.info("shutdown signal received; draining in-flight work")
        self._draining.set()
        for callback in self._callbacks:
            callback()

    def chain_signal_handlers(self) -> None:
        """Flip readiness before the server's own SIGTERM/SIGINT handler runs.

        Called from lifespan start-up, after the server (uvicorn) has installed its handlers.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)

            def handler(signum: int, frame: FrameType | None, _previous: Any = previous) -> None:
                self.begin_drain()
                if callable(_previous):
                    _previous(signum, frame)
                elif _previous == signal.SIG_DFL:
                    raise SystemExit(0)

            signal.signal(sig, handler)
