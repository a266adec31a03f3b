"""Keep the objects a service builds at start-up out of the garbage collector's full collections.

A full (generation 2) collection traverses every tracked object. In the API that is mostly what
import and start-up built (modules, Litestar's routes and signatures, OpenTelemetry, the pools), and
one such collection took 155 ms of CPU under the read load, during which the event loop answered
nothing (bench/README.md, issue #16's open-loop tail). Frozen objects are never traversed again;
whatever the service allocates afterwards is collected as before, and the full collections that
remain take milliseconds.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect the start-up garbage, then freeze every object still alive; returns how many are frozen."""
    gc.collect()  # garbage frozen now could never be collected
    gc.freeze()
    return gc.get_freeze_count()
