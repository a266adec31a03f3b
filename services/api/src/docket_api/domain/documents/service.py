"""Documents: uploads received without holding anything shared and stored in one short transaction;
reads, edits, deletes and reprocessing within a workspace, each decided by :mod:`authz`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg_pool import AsyncConnectionPool

from docket_api.domain.audit.caller import Caller
from docket_api.domain.documents.cursor import decode_cursor, encode_cursor
from docket_api.domain.documents.etag import document_etag
from docket_api.domain.documents.filenames import title_from_filename
from docket_api.domain.documents.quotas import Quotas
from docket_api.domain.documents.schemas import (
    PREVIEW_CHARS,
    DocumentDetail,
    DocumentOut,
    DocumentPage,
    DocumentPatch,
    document_detail,
    document_out,
)
from docket_api.domain.documents.spool import Spool, SpoolBudget
from docket_api.domain.documents.upload import (
    ReceivedFile,
    bad_workspace_field,
    check_declared_length,
    multipart_boundary,
    receive_upload,
    store_blob,
)
from docket_api.domain.tags.repository import set_tags, tags_of
from docket_api.domain.workspaces.authz import Action, authorize, member_workspaces, visible_workspaces
from docket_api.domain.workspaces.repository import personal_workspace
from docket_core.contracts import ProcessDocument, PurgeDocument, StatusEvent, UploadPace
from docket_core.db import autocommit_if_idle
from docket_core.http.conditional import none_match
from docket_core.http.paced_body import paced
from docket_core.http.problems import Problem
from docket_core.metrics import QUOTA_REFUSALS
from docket_core.read_routing import ReadRouter
from docket_core.tables import documents as repo
from docket_core.tables import thumbnails
from docket_core.tables.blobs import BlobStore
from docket_core.tables.jobs import enqueue, unfinished_status


def not_found() -> Problem:
    # A document in a workspace the caller is not in is indistinguishable from one that does not exist.
    return Problem(404, "No such document.", slug="document-not-found")


def duplicate(existing: uuid.UUID | None) -> Problem:
    return Problem(
        409,
        "This file is already in the workspace.",
        slug="duplicate-document",
        existing_id=str(existing),
        headers={"Location": f"/api/v1/documents/{existing}"},
    )


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    size: int
    etag: str
    blob_id: uuid.UUID


@dataclass(frozen=True)
class Detail:
    etag: str
    document: DocumentDetail | None  # None: the client's copy (If-None-Match) is the current one


@dataclass(frozen=True)
class UploadPolicy:
    """How uploads are received: the file size limit, the pace, and where the bytes wait."""

    max_bytes: int
    pace: UploadPace
    spool_memory_bytes: int
    spool_budget: SpoolBudget


class DocumentService:
    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncConnection[Any]],
        blobs: BlobStore,
        quotas: Quotas,
        uploads: UploadPolicy,
        reads: ReadRouter | None = None,
    ) -> None:
        self.pool = pool
        self.blobs = blobs
        self.quotas = quotas
        self.uploads = uploads
        self.reads = reads or ReadRouter(pool)  # the list may run on a replica (DATABASE_READ_URL)

    async def _workspace_of(
        self, conn: AsyncConnection[Any], caller: Caller, document_id: uuid.UUID, action: Action
    ) -> uuid.UUID:
        """The document's workspace, once the table allows the caller ``action`` on it (404 for a
        document in a workspace the caller cannot see, 403 for a right their role lacks)."""
        workspace_id = await repo.workspace_of(conn, document_id)
        if workspace_id is None:
            raise not_found()
        await self._authorize(conn, caller, workspace_id, action)
        return workspace_id

    @staticmethod
    async def _authorize(
        conn: AsyncConnection[Any], caller: Caller, workspace_id: uuid.UUID, action: Action
    ) -> None:
        try:
            await authorize(conn, caller.principal, workspace_id, action)
        except Problem as problem:
            if problem.status_code == 404:
                raise not_found() from None
            raise

    async def _target(self, conn: AsyncConnection[Any], caller: Caller, chosen: str | None) -> uuid.UUID:
        """The workspace an upload goes to: the one named, else the token's one, else the personal one."""
        if chosen is not None:
            try:
                return uuid.UUID(chosen.strip())
            except ValueError:
                raise bad_workspace_field() from None
        if caller.principal.workspace_id is not None:
            return uuid.UUID(caller.principal.workspace_id)
        return await personal_workspace(conn, caller.user_id)

    async def upload(
        self,
        caller: Caller,
        workspace_id: uuid.UUID | None,
        content_type: str | None,
        content_length: str | None,
        body: AsyncIterator[bytes],
    ) -> DocumentOut:
        """Receive the file without holding a connection, then store its bytes, its row and its
        processing job in one short transaction, or nothing at all."""
        policy = self.uploads
        check_declared_length(content_length, policy.max_bytes)
        boundary = multipart_boundary(content_type)
        target: list[uuid.UUID] = []

        async def admit(field: str | None) -> None:
            # before a byte of the file is read: may the caller upload here, and is there room?
            async with self.pool.connection() as conn:
                chosen = await self._target(conn, caller, field) if field is not None else workspace_id
                if workspace_id is not None and chosen != workspace_id:
                    raise Problem(
                        409,
                        "The query's workspace_id and the form field workspace_id name different workspaces.",
                        slug="workspace-conflict",
                    )
                if chosen is None:
                    chosen = await self._target(conn, caller, None)
                await authorize(conn, caller.principal, chosen, Action.WRITE_DOCUMENTS)
                await self.quotas.precheck(conn, chosen)
            target.append(chosen)

        async with self.quotas.upload_slot(caller.user_id):
            with Spool(policy.spool_budget, policy.spool_memory_bytes) as spool:
                received = await receive_upload(
                    boundary, paced(body, policy.pace), spool, policy.max_bytes, admit
                )
                if (
                    received.late_workspace is not None
                ):  # named after the file: decided now, still before storing
                    await admit(received.late_workspace)
                return await self._store(caller, target[-1], received, spool)

    async def _store(
        self, caller: Caller, workspace_id: uuid.UUID, received: ReceivedFile, spool: Spool
    ) -> DocumentOut:
        async with self.pool.connection() as conn:
            try:
                async with conn.transaction():
                    existing = await repo.id_by_hash(conn, workspace_id, received.sha256)
                    if existing is not None:
                        raise duplicate(existing)
                    blob_id = await store_blob(conn, self.blobs, spool)
                    await self.quotas.reserve(conn, workspace_id, received.size)
                    row = await repo.insert(
                        conn,
                        workspace_id=workspace_id,
                        owner_id=caller.user_id,
                        blob_id=blob_id,
                        filename=received.filename,
                        title=title_from_filename(received.filename),
                        content_type=received.content_type,
                        size_bytes=received.size,
                        sha256=received.sha256,
                    )
                    await enqueue(conn, ProcessDocument(document_id=row["id"]))
                    await caller.record(conn, "document.uploaded", workspace_id, "document", row["id"],
                                        filename=received.filename, size_bytes=received.size)  # fmt: skip
                    return document_out(row)
            except UniqueViolation:  # a concurrent upload of the same bytes won the race
                existing = await repo.id_by_hash(conn, workspace_id, received.sha256)
        raise duplicate(existing)

    async def page(
        self,
        caller: Caller,
        workspace_id: uuid.UUID | None,
        limit: int,
        cursor: str | None,
        status: str | None,
        title_prefix: str | None,
        tags: list[str],
    ) -> DocumentPage:
        after = decode_cursor(cursor) if cursor else None
        async with self.pool.connection() as conn:  # membership: always the primary's
            if workspace_id is not None:
                await authorize(conn, caller.principal, workspace_id, Action.READ_DOCUMENTS)
                workspaces = [workspace_id]
            else:
                workspaces = await visible_workspaces(conn, caller.principal)

        async def read(conn: AsyncConnection[Any]) -> tuple[list[dict[str, Any]], dict[uuid.UUID, list[str]]]:
            rows = await repo.page(
                conn,
                workspaces,
                limit=limit + 1,
                after=after,
                status=status,
                title_prefix=title_prefix,
                tags=tags,
            )
            return rows, await tags_of(conn, [row["id"] for row in rows[:limit]])

        rows, tagged = await self.reads.run(caller.user_id, read)  # a replica when DATABASE_READ_URL is set
        items = [document_out(row, tagged.get(row["id"])) for row in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return DocumentPage(items, encode_cursor(last["created_at"], last["id"]) if last else None)

    async def page_json(
        self,
        caller: Caller,
        workspace_id: uuid.UUID | None,
        limit: int,
        cursor: str | None,
        status: str | None,
        title_prefix: str | None,
        tags: list[str],
    ) -> bytes:
        """The page :meth:`page` returns, as its JSON body, built by PostgreSQL."""
        after = decode_cursor(cursor) if cursor else None

        async def readable(conn: AsyncConnection[Any]) -> list[uuid.UUID]:  # membership: the primary's
            if workspace_id is not None:
                await authorize(conn, caller.principal, workspace_id, Action.READ_DOCUMENTS)
                return [workspace_id]
            return await visible_workspaces(conn, caller.principal)

        async def read(conn: AsyncConnection[Any], workspaces: list[uuid.UUID] | tuple[str, str]) -> bytes:
            async with autocommit_if_idle(conn):  # one statement: no BEGIN and COMMIT around it
                return await repo.page_json(
                    conn,
                    workspaces,
                    limit=limit,
                    after=after,
                    status=status,
                    title_prefix=title_prefix,
                    tags=tags,
                )

        if workspace_id is None and self.reads.primary_only:
            # memberships and documents on one server: the membership subquery goes into the statement
            members = member_workspaces(caller.principal)
            if members is not None:
                return await self.reads.run(caller.user_id, lambda conn: read(conn, members))
        return await self.reads.run_after(caller.user_id, readable, read)

    async def get(self, caller: Caller, document_id: uuid.UUID, if_none_match: str | None = None) -> Detail:
        """The document's detail and its ETag; only the ETag (``document`` None) when ``if_none_match``
        names it: then the row's text is never read. The caller is authorized before any comparison, so
        a stranger holding a valid tag learns nothing a 404 does not say."""
        async with self.pool.connection() as conn:
            version = await repo.version_of(conn, document_id)
            if version is None:
                raise not_found()
            workspace_id = version["workspace_id"]
            await self._authorize(conn, caller, workspace_id, Action.READ_DOCUMENTS)
            current = document_etag(version["updated_at"], version["row_version"])
            if none_match(if_none_match, current):
                return Detail(current, None)
            row = await repo.detail(conn, workspace_id, document_id, preview_chars=PREVIEW_CHARS)
        if row is None:  # deleted in between
            raise not_found()
        # the tag of the version this body was read from (it may be newer than the one compared above)
        return Detail(document_etag(row["updated_at"], row["row_version"]), document_detail(row, row["tags"]))

    async def update(self, caller: Caller, document_id: uuid.UUID, patch: DocumentPatch) -> DocumentDetail:
        """A new title and/or a new set of tags."""
        async with self.pool.connection() as conn, conn.transaction():
            workspace_id = await self._workspace_of(conn, caller, document_id, Action.WRITE_DOCUMENTS)
            if await repo.lock(conn, workspace_id, document_id) is None:
                raise not_found()
            if patch.title is not None:
                await repo.retitle(conn, document_id, patch.title.strip())
            if patch.tags is not None:
                await set_tags(conn, workspace_id, document_id, patch.tags)
            await repo.touch(conn, document_id)
            changes: dict[str, Any] = {}
            if patch.title is not None:
                changes["title"] = patch.title.strip()
            if patch.tags is not None:
                changes["tags"] = list(patch.tags)
            await caller.record(conn, "document.edited", workspace_id, "document", document_id, **changes)
            row = await repo.detail(conn, workspace_id, document_id, preview_chars=PREVIEW_CHARS)
        assert row is not None
        return document_detail(row, row["tags"])

    async def download(self, caller: Caller, document_id: uuid.UUID) -> Download:
        async with self.pool.connection() as conn:
            workspace_id = await self._workspace_of(conn, caller, document_id, Action.READ_DOCUMENTS)
            row = await repo.get(conn, workspace_id, document_id)
        if row is None:
            raise not_found()
        return Download(
            filename=row["filename"],
            content_type=row["content_type"],
            size=row["size_bytes"],
            etag=f'"{bytes(row["sha256"]).hex()}"',
            blob_id=row["blob_id"],
        )

    async def thumbnail(self, caller: Caller, document_id: uuid.UUID) -> tuple[bytes, str]:
        """The document's thumbnail and its ETag, authorized as the download is; 404 when it has none."""
        async with self.pool.connection() as conn:
            workspace_id = await self._workspace_of(conn, caller, document_id, Action.READ_DOCUMENTS)
            if await repo.get(conn, workspace_id, document_id) is None:
                raise not_found()
            found = await thumbnails.get(conn, document_id)
        if found is None:
            raise Problem(404, "This document has no thumbnail.", slug="thumbnail-not-found")
        return bytes(found["webp"]), found["etag"]

    async def stream(self, blob_id: uuid.UUID, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive; a pooled connection is held per chunk, not per download."""
        size = self.blobs.chunk_bytes
        for seq in range(start // size, end // size + 1):
            async with self.pool.connection() as conn:
                data = await self.blobs.read_chunk(conn, blob_id, seq)
            if data is None:
                return  # purged after the request began; the client sees a short body
            offset = seq * size
            yield data[max(start - offset, 0) : min(end - offset + 1, len(data))]

    async def delete(self, caller: Caller, document_id: uuid.UUID) -> None:
        """The row goes now; a job purges the bytes."""
        async with self.pool.connection() as conn, conn.transaction():
            workspace_id = await self._workspace_of(conn, caller, document_id, Action.WRITE_DOCUMENTS)
            blob_id = await repo.delete(conn, workspace_id, document_id)
            if blob_id is None:
                raise not_found()
            await enqueue(conn, PurgeDocument(blob_id=blob_id, document_id=document_id))
            await caller.record(conn, "document.deleted", workspace_id, "document", document_id)

    async def reprocess(self, caller: Caller, document_id: uuid.UUID) -> DocumentOut:
        """Queue the document again, unless its processing job has not finished yet (409)."""
        job = ProcessDocument(document_id=document_id)
        async with self.pool.connection() as conn, conn.transaction():
            workspace_id = await self._workspace_of(conn, caller, document_id, Action.WRITE_DOCUMENTS)
            # the row lock makes two concurrent calls take turns: the second sees the first's job
            current = await repo.lock(conn, workspace_id, document_id)
            if current is None:
                raise not_found()
            job_status = await unfinished_status(conn, job)
            if job_status is not None:
                QUOTA_REFUSALS.labels("reprocess_queued").inc()
                raise Problem(
                    409,
                    f"This document's processing is already {job_status}; it was not queued again.",
                    slug="reprocess-already-queued",
                    document_status=current["status"],
                    job_status=job_status,
                )
            row = await repo.mark_pending(conn, workspace_id, document_id)
            assert row is not None
            await enqueue(conn, job)
            await caller.record(conn, "document.reprocessed", workspace_id, "document", document_id)
            tagged = await tags_of(conn, [document_id])
        return document_out(row, tagged.get(document_id))

    async def status(self, caller: Caller, document_id: uuid.UUID) -> StatusEvent:
        async with self.pool.connection() as conn:
            workspace_id = await self._workspace_of(conn, caller, document_id, Action.READ_DOCUMENTS)
            row = await repo.status_of(conn, workspace_id, document_id)
        if row is None:
            raise not_found()
        return StatusEvent(row["id"], row["status"], row["failure_reason"])
