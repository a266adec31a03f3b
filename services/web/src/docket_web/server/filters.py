"""Jinja filters for what the pages show: sizes, dates and status names."""

from __future__ import annotations

import datetime as dt
from typing import Any

from docket_core.contracts import FINAL_STATUSES
from docket_core.contracts.formats import TYPE_LABELS

STATUS_LABELS = {"pending": "Pending", "processing": "Processing", "ready": "Ready", "failed": "Failed"}


def filesize(size: Any) -> str:
    """``912 bytes``, ``14.2 KB``, ``3.1 MB``."""
    value = float(size or 0)
    if value < 1024:
        return f"{int(value)} byte{'s' if value != 1 else ''}"
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            return f"{value:.1f} {unit}"
    return f"{value:.1f} GB"  # pragma: no cover


def when(value: Any) -> str:
    """An API timestamp as ``3 Mar 2025, 14:05 UTC``."""
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return str(value)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def status_label(status: Any) -> str:
    return STATUS_LABELS.get(str(status), str(status).capitalize())


def type_label(content_type: Any) -> str:
    base = str(content_type).split(";", 1)[0].strip()
    return TYPE_LABELS.get(base, base)


def is_final(status: Any) -> bool:
    return str(status) in FINAL_STATUSES


FILTERS = {"filesize": filesize, "when": when, "status_label": status_label, "type_label": type_label}
TESTS = {"final": is_final}
