"""Jinja filters for what the pages show: sizes, dates and status names."""

from __future__ import annotations

import datetime as dt
from typing import Any

from docket_core.contracts import FINAL_STATUSES
from docket_core.contracts.formats import DOCX, JPEG, ODP, ODS, ODT, PNG, PPTX, TIFF, TYPE_LABELS, XLSX

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


# the short mark of a document without a thumbnail, shown in its place
TYPE_ICONS = {
    "application/pdf": "PDF",
    "text/plain": "TXT",
    "text/markdown": "MD",
    "text/html": "HTML",
    "text/csv": "CSV",
    "application/json": "JSON",
    DOCX: "DOC",
    ODT: "DOC",
    XLSX: "XLS",
    ODS: "XLS",
    PPTX: "PPT",
    ODP: "PPT",
    PNG: "IMG",
    JPEG: "IMG",
    TIFF: "IMG",
}


def type_icon(content_type: Any) -> str:
    """``PDF``, ``DOC``, ``XLS``, …: the type icon's text."""
    return TYPE_ICONS.get(str(content_type).split(";", 1)[0].strip(), "FILE")


def etag_version(etag: Any) -> str:
    """An ETag as a URL query value (the thumbnail URL changes when the thumbnail does)."""
    return str(etag or "").strip('W/"')


def is_final(status: Any) -> bool:
    return str(status) in FINAL_STATUSES


FILTERS = {
    "filesize": filesize,
    "when": when,
    "status_label": status_label,
    "type_label": type_label,
    "type_icon": type_icon,
    "etag_version": etag_version,
}
TESTS = {"final": is_final}
