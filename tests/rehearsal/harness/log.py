"""What the rehearsal prints as it goes: one line per action or pod state, with the seconds since start."""

from __future__ import annotations

import sys
import threading
import time

_START = time.monotonic()
_LOCK = threading.Lock()


def say(message: str) -> None:
    """Print one line of the rehearsal's progress."""
    with _LOCK:
        sys.stdout.write(f"[rehearsal {time.monotonic() - _START:7.1f}s] {message}\n")
        sys.stdout.flush()
