"""Progress of a long step: a live line on a terminal, a log line every so often otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

logger = logging.getLogger("docket.backup")

_REDRAW_SECONDS = 0.2


class Progress:
    """Reports ``<step>: <detail>, <elapsed>`` as a step advances."""

    def __init__(self, step: str, log_interval: float, stream: TextIO | None = None) -> None:
        self.step = step
        self.log_interval = log_interval
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self.last_shown = self.started

    @property
    def elapsed(self) -> float:
        """Seconds since the step began."""
        return time.monotonic() - self.started

    def update(self, detail: str, **fields: object) -> None:
        """Show ``detail`` if enough time has passed since the last report."""
        now = time.monotonic()
        if now - self.last_shown < (_REDRAW_SECONDS if self.live else self.log_interval):
            return
        self.last_shown = now
        if self.live:
            self.stream.write(f"\r{self.step}: {detail}, {self.elapsed:.1f} s\x1b[K")
            self.stream.flush()
        else:
            logger.info(
                f"{self.step}: {detail}",
                extra={"step": self.step, "elapsed_seconds": round(self.elapsed, 1), **fields},
            )

    def finish(self, detail: str) -> None:
        """End the live line; the caller reports the result itself."""
        if self.live:
            self.stream.write(f"\r{self.step}: {detail}, {self.elapsed:.1f} s\x1b[K\n")
            self.stream.flush()
