"""Job kinds, the payload each one carries, and the handlers that run them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from docket_core.contracts import JobPayload, ProcessDocument, PurgeDocument, ReindexSearch
from docket_worker.handlers.process_document import document_gave_up, process_document
from docket_worker.handlers.purge_document import purge_document
from docket_worker.jobs.context import JobContext
from docket_worker.search.reindex import reindex_search

P = TypeVar("P", bound=JobPayload)


@dataclass(frozen=True)
class Handler(Generic[P]):
    """How to run one kind of job, and what to do once it is dead so that nothing waits on it forever."""

    payload: type[P]
    run: Callable[[JobContext, P], Awaitable[None]]
    on_dead: Callable[[JobContext, P], Awaitable[None]] | None = None


HANDLERS: dict[str, Handler[Any]] = {
    handler.payload.KIND: handler
    for handler in (
        Handler(ProcessDocument, process_document, on_dead=document_gave_up),
        Handler(PurgeDocument, purge_document),
        Handler(ReindexSearch, reindex_search),
    )
}
