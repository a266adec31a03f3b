"""Names the API and the worker must agree on: job kinds, the NOTIFY channel, event channels."""

from __future__ import annotations

JOBS_NOTIFY_CHANNEL = "docket_jobs"
PROCESS_DOCUMENT = "process_document"
PURGE_DOCUMENT = "purge_document"
FINAL_STATUSES = frozenset({"ready", "failed"})
DOCUMENT_STATUSES = ("pending", "processing", "ready", "failed")


def document_events_channel(document_id: str) -> str:
    """The Redis pub/sub channel that carries one document's status changes."""
    return f"docket:document-events:{document_id}"
