"""Every message that crosses a service boundary, as a msgspec type, and the limits services share.

The worker, the API and the web encode and decode these messages only through this package, so a
malformed one is rejected here, with :class:`MalformedMessageError`, and nowhere else:

* :mod:`.events`: a document's status change (worker → Redis → API's SSE → web);
* :mod:`.jobs`: the queue's job payloads (API → PostgreSQL ``jobs`` table → worker);
* :mod:`.limits`: the upload limits (size and pace) the web and the API both enforce;
* :mod:`.formats`: the accepted document types (API sniffs, worker parses, web labels).
"""

from __future__ import annotations

from docket_core.contracts.codec import MalformedMessageError
from docket_core.contracts.events import (
    DOCUMENT_STATUSES,
    FINAL_STATUSES,
    DocumentStatus,
    StatusEvent,
    decode_status_event,
    document_events_channel,
    encode_status_event,
)
from docket_core.contracts.jobs import (
    JOB_PAYLOADS,
    JOBS_NOTIFY_CHANNEL,
    JobPayload,
    ProcessDocument,
    PurgeDocument,
    ReindexSearch,
    decode_job_payload,
)
from docket_core.contracts.limits import (
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_UPLOAD_GRACE_SECONDS,
    DEFAULT_UPLOAD_MAX_SECONDS,
    DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND,
    DEFAULT_UPLOAD_SPOOL_MEMORY_BYTES,
    MULTIPART_ALLOWANCE_BYTES,
    UploadPace,
    declared_body_too_large,
    file_too_large,
    upload_body_limit,
)

__all__ = [
    "DEFAULT_MAX_UPLOAD_BYTES",
    "DEFAULT_UPLOAD_GRACE_SECONDS",
    "DEFAULT_UPLOAD_MAX_SECONDS",
    "DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND",
    "DEFAULT_UPLOAD_SPOOL_MEMORY_BYTES",
    "DOCUMENT_STATUSES",
    "FINAL_STATUSES",
    "JOBS_NOTIFY_CHANNEL",
    "JOB_PAYLOADS",
    "MULTIPART_ALLOWANCE_BYTES",
    "DocumentStatus",
    "JobPayload",
    "MalformedMessageError",
    "ProcessDocument",
    "PurgeDocument",
    "ReindexSearch",
    "StatusEvent",
    "UploadPace",
    "declared_body_too_large",
    "decode_job_payload",
    "decode_status_event",
    "document_events_channel",
    "encode_status_event",
    "file_too_large",
    "upload_body_limit",
]
