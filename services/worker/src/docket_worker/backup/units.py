"""Human-readable sizes and ages for tables and progress lines."""

from __future__ import annotations

import datetime as dt


def format_bytes(size: float) -> str:
    """``1536`` as ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def format_age(age: dt.timedelta) -> str:
    """An age as ``3d 4h``, ``4h 10m`` or ``10m``."""
    minutes = max(0, int(age.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"
