"""A document's status changes: published by the worker, streamed by the API, merged by the web."""

from __future__ import annotations

import typing
import uuid
from typing import Literal

import msgspec

from docket_core.contracts.codec import decode_json

DocumentStatus = Literal["pending", "processing", "ready", "failed"]
DOCUMENT_STATUSES: tuple[DocumentStatus, ...] = typing.get_args(DocumentStatus)
FINAL_STATUSES: frozenset[DocumentStatus] = frozenset({"ready", "failed"})


class StatusEvent(msgspec.Struct, frozen=True):
    """One document's status, as the worker publishes it on Redis and the API sends it as SSE ``data``."""

    id: uuid.UUID
    status: DocumentStatus
    failure_reason: str | None = None

    @property
    def is_final(self) -> bool:
        """Ready or failed: nothing more will happen until someone reprocesses the document."""
        return self.status in FINAL_STATUSES


def document_events_channel(document_id: str | uuid.UUID) -> str:
    """The Redis pub/sub channel that carries one document's status changes."""
    return f"docket:document-events:{document_id}"


def encode_status_event(event: StatusEvent) -> bytes:
    """The event as JSON: ``{"id", "status", "failure_reason"}``."""
    return msgspec.json.encode(event)


def decode_status_event(data: bytes | str) -> StatusEvent:
    """Parse an event; anything else raises :class:`~docket_core.contracts.MalformedMessageError`."""
    return decode_json(data, StatusEvent)
