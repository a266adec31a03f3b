"""The messages that cross service boundaries: each side's bytes decode to the same typed value, and
anything else is refused here, with one error type."""

from __future__ import annotations

import json
import uuid

import pytest

from docket_core.contracts import (
    JOB_PAYLOADS,
    MULTIPART_ALLOWANCE_BYTES,
    MalformedMessageError,
    ProcessDocument,
    PurgeDocument,
    ReindexSearch,
    StatusEvent,
    declared_body_too_large,
    decode_job_payload,
    decode_status_event,
    document_events_channel,
    encode_status_event,
    upload_body_limit,
)

DOC = uuid.UUID("8d3c7b9e-8f4e-4c8e-9a34-9b8e2d1f0a11")


def test_a_status_event_keeps_its_wire_shape_and_round_trips() -> None:
    event = StatusEvent(DOC, "failed", "The PDF is encrypted.")
    wire = encode_status_event(event)
    assert json.loads(wire) == {"id": str(DOC), "status": "failed", "failure_reason": "The PDF is encrypted."}
    assert decode_status_event(wire) == event
    assert decode_status_event(wire.decode()) == event, "text (an SSE data line) decodes too"
    assert decode_status_event(json.dumps({"id": str(DOC), "status": "ready"})).failure_reason is None


def test_only_ready_and_failed_are_final() -> None:
    assert [StatusEvent(DOC, s).is_final for s in ("pending", "processing", "ready", "failed")] == [
        False,
        False,
        True,
        True,
    ]


@pytest.mark.parametrize(
    "wire",
    [
        b"",
        b"not json",
        b"[]",
        b'{"status": "ready"}',
        b'{"id": "nope", "status": "ready"}',
        f'{{"id": "{DOC}", "status": "done"}}'.encode(),
        f'{{"id": "{DOC}", "status": "ready", "failure_reason": 7}}'.encode(),
        b"\xff\xfe",
    ],
)
def test_a_malformed_status_event_is_refused_with_one_error_type(wire: bytes) -> None:
    with pytest.raises(MalformedMessageError, match="StatusEvent"):
        decode_status_event(wire)


def test_unknown_fields_are_ignored_so_either_side_can_be_upgraded_first() -> None:
    wire = json.dumps({"id": str(DOC), "status": "ready", "failure_reason": None, "progress": 1.0})
    assert decode_status_event(wire) == StatusEvent(DOC, "ready")


def test_the_events_channel_is_per_document() -> None:
    assert (
        document_events_channel(DOC) == document_events_channel(str(DOC)) == f"docket:document-events:{DOC}"
    )


def test_job_payloads_are_stored_as_json_objects_and_read_back_typed() -> None:
    blob = uuid.uuid4()
    stored = PurgeDocument(blob_id=blob, document_id=DOC).to_builtins()
    assert stored == {"blob_id": str(blob), "document_id": str(DOC)}
    assert decode_job_payload(json.loads(json.dumps(stored)), PurgeDocument) == PurgeDocument(blob, DOC)
    assert decode_job_payload({"document_id": str(DOC)}, ProcessDocument) == ProcessDocument(DOC)
    assert sorted(JOB_PAYLOADS.items()) == [
        ("process_document", ProcessDocument),
        ("purge_document", PurgeDocument),
        ("reindex_search", ReindexSearch),
    ]
    assert decode_job_payload({"config": "simple"}, ReindexSearch) == ReindexSearch("simple")


@pytest.mark.parametrize(
    "raw", [None, [], "x", {}, {"document_id": None}, {"document_id": "not-a-uuid"}, {"document_id": 7}]
)
def test_a_malformed_job_payload_is_refused(raw: object) -> None:
    with pytest.raises(MalformedMessageError, match="ProcessDocument"):
        decode_job_payload(raw, ProcessDocument)


def test_the_upload_body_limit_adds_the_multipart_allowance_per_file() -> None:
    assert MULTIPART_ALLOWANCE_BYTES == 64 * 1024
    assert upload_body_limit(1000) == 1000 + MULTIPART_ALLOWANCE_BYTES
    assert upload_body_limit(1000, files=3) == 3 * (1000 + MULTIPART_ALLOWANCE_BYTES)


@pytest.mark.parametrize(
    ("content_length", "too_large"),
    [
        (None, False),
        ("", False),
        ("abc", False),
        ("-5", False),
        (str(1000 + MULTIPART_ALLOWANCE_BYTES), False),
        (f" {1000 + MULTIPART_ALLOWANCE_BYTES} ", False),
        (str(1001 + MULTIPART_ALLOWANCE_BYTES), True),
        ("9" * 40, True),
    ],
)
def test_a_declared_length_is_too_large_only_when_it_says_so(
    content_length: str | None, too_large: bool
) -> None:
    assert declared_body_too_large(content_length, 1000) is too_large


def test_a_file_of_exactly_the_limit_fits_and_one_byte_more_does_not() -> None:
    from docket_core.contracts import file_too_large

    assert not file_too_large(1000, 1000)
    assert file_too_large(1001, 1000)
