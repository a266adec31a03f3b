"""Every job payload the contracts define has a handler here that reads that very payload type."""

from __future__ import annotations

from docket_core.contracts import JOB_PAYLOADS
from docket_worker.handlers.registry import HANDLERS


def test_every_job_kind_has_a_handler_for_its_payload_type() -> None:
    assert set(HANDLERS) == set(JOB_PAYLOADS)
    for kind, handler in HANDLERS.items():
        assert handler.payload is JOB_PAYLOADS[kind], kind
