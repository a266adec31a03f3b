"""The job queue's payloads: the API enqueues them in the ``jobs`` table, the worker runs them."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, TypeVar

import msgspec

from docket_core.contracts.codec import decode_builtins

JOBS_NOTIFY_CHANNEL = "docket_jobs"
P = TypeVar("P", bound="JobPayload")


class JobPayload(msgspec.Struct, frozen=True):
    """A job's payload; ``KIND`` is the ``jobs.kind`` it is stored under."""

    KIND: ClassVar[str]

    def to_builtins(self) -> dict[str, Any]:
        """The payload as the ``jobs.payload`` JSON object."""
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]


class ProcessDocument(JobPayload, frozen=True):
    """Extract a document's text, title and counts, and index it for search."""

    KIND: ClassVar[str] = "process_document"
    document_id: uuid.UUID


class PurgeDocument(JobPayload, frozen=True):
    """Remove the bytes of a deleted document (unless another document still refers to them)."""

    KIND: ClassVar[str] = "purge_document"
    blob_id: uuid.UUID
    document_id: uuid.UUID | None = None  # the deleted row's id, for the logs


class ReindexSearch(JobPayload, frozen=True):
    """Rebuild every search vector in ``config``, the text-search configuration SEARCH_TEXT_CONFIG named."""

    KIND: ClassVar[str] = "reindex_search"
    config: str


JOB_PAYLOADS: dict[str, type[JobPayload]] = {
    payload.KIND: payload for payload in (ProcessDocument, PurgeDocument, ReindexSearch)
}


def decode_job_payload(raw: object, payload_type: type[P]) -> P:
    """A stored payload (the parsed ``jsonb``) as ``payload_type``, or ``MalformedMessageError``."""
    return decode_builtins(raw, payload_type)
