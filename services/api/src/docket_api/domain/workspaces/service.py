"""Workspaces, members and invitations; every decision goes through :mod:`authz`, every change is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from docket_api.domain.audit.caller import Caller
from docket_api.domain.workspaces import repository as repo
from docket_api.domain.workspaces.authz import (
    Action,
    Role,
    Scope,
    authorize,
    reaches,
    require_scope,
    require_session,
)
from docket_api.domain.workspaces.limits import MAX_MEMBERS, MAX_OWNED_WORKSPACES, MAX_PENDING_INVITATIONS
from docket_api.domain.workspaces.schemas import (
    InvitationCreated,
    InvitationOut,
    MemberOut,
    WorkspaceOut,
    WorkspacePatch,
)
from docket_core.contracts import PurgeDocument
from docket_core.http.problems import Problem
from docket_core.tables import documents
from docket_core.tables.jobs import enqueue

Pool = AsyncConnectionPool[AsyncConnection[Any]]


def workspace_out(row: dict[str, Any]) -> WorkspaceOut:
    return WorkspaceOut(
        id=str(row["id"]),
        name=row["name"],
        personal=row["personal"],
        role=row["role"],
        created_at=row["created_at"],
    )


def invitation_out(row: dict[str, Any]) -> InvitationOut:
    return InvitationOut(
        id=str(row["id"]),
        workspace_id=str(row["workspace_id"]),
        role=row["role"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def member_not_found() -> Problem:
    return Problem(404, "No such member of this workspace.", slug="member-not-found")


def _above_own(role: Role) -> Problem:
    return Problem(403, f"You cannot grant or change a role above your own ({role}).", slug="role-above-own")


def _quota(what: str, limit: int, detail: str) -> Problem:
    return Problem(403, detail, slug=f"quota-{what}", limit=limit)


class WorkspaceService:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def create(self, caller: Caller, name: str) -> WorkspaceOut:
        require_scope(caller.principal, Scope.WORKSPACES_ADMIN)
        if caller.principal.workspace_id is not None:
            raise Problem(403, "A token limited to one workspace cannot create others.", slug="forbidden")
        async with self.pool.connection() as conn, conn.transaction():
            # one user's creations take turns, so the count below cannot be raced past
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('docket.workspaces'), hashtext(%s))", (caller.user_id,)
            )
            if await repo.owned_count(conn, caller.user_id) >= MAX_OWNED_WORKSPACES:
                raise _quota(
                    "workspaces",
                    MAX_OWNED_WORKSPACES,
                    f"You own {MAX_OWNED_WORKSPACES} workspaces, the most one account may.",
                )
            row = await repo.create(conn, name, caller.user_id)
            await caller.record(conn, "workspace.created", row["id"], "workspace", row["id"], name=name)
        return workspace_out(row)

    async def list_for(self, caller: Caller) -> list[WorkspaceOut]:
        async with self.pool.connection() as conn:
            rows = await repo.list_for(conn, caller.user_id)
        return [workspace_out(r) for r in rows if reaches(caller.principal, r["id"])]

    async def get(self, caller: Caller, workspace_id: uuid.UUID) -> WorkspaceOut:
        async with self.pool.connection() as conn:
            await authorize(conn, caller.principal, workspace_id, Action.VIEW_WORKSPACE)
            row = await repo.get_for(conn, caller.user_id, workspace_id)
        assert row is not None
        return workspace_out(row)

    async def update(self, caller: Caller, workspace_id: uuid.UUID, patch: WorkspacePatch) -> WorkspaceOut:
        async with self.pool.connection() as conn, conn.transaction():
            await repo.lock_members(conn, workspace_id)
            if patch.name is not None:
                await authorize(conn, caller.principal, workspace_id, Action.RENAME_WORKSPACE)
            if patch.owner_id is not None:
                await authorize(conn, caller.principal, workspace_id, Action.TRANSFER_OWNERSHIP)
            if patch.name is None and patch.owner_id is None:
                await authorize(conn, caller.principal, workspace_id, Action.VIEW_WORKSPACE)
            if patch.name is not None:
                await repo.rename(conn, workspace_id, patch.name)
                await caller.record(
                    conn, "workspace.renamed", workspace_id, "workspace", workspace_id, name=patch.name
                )
            if patch.owner_id is not None:
                await self._transfer(conn, caller, workspace_id, patch.owner_id)
            row = await repo.get_for(conn, caller.user_id, workspace_id)
        assert row is not None
        return workspace_out(row)

    async def _transfer(
        self, conn: AsyncConnection[Any], caller: Caller, workspace_id: uuid.UUID, to: str
    ) -> None:
        if await repo.is_personal(conn, workspace_id):
            raise Problem(409, "A personal workspace cannot change owner.", slug="personal-workspace")
        new_owner = str(uuid.UUID(to))
        if new_owner == caller.user_id:
            return
        members = {str(m["user_id"]): m for m in await repo.members(conn, workspace_id)}
        if new_owner not in members:
            # the workspace exists and the caller may act on it: the body names someone it cannot go to
            raise Problem(409, "The new owner must be a member of this workspace.", slug="owner-not-a-member")
        await repo.set_role(conn, workspace_id, caller.user_id, Role.ADMIN)
        await repo.set_role(conn, workspace_id, new_owner, Role.OWNER)
        await caller.record(
            conn,
            "workspace.ownership_transferred",
            workspace_id,
            "user",
            new_owner,
            previous_owner=caller.user_id,
        )

    async def delete(self, caller: Caller, workspace_id: uuid.UUID) -> None:
        """The workspace and its documents go now; jobs purge the documents' bytes."""
        async with self.pool.connection() as conn, conn.transaction():
            await repo.lock_members(conn, workspace_id)
            await authorize(conn, caller.principal, workspace_id, Action.DELETE_WORKSPACE)
            if await repo.is_personal(conn, workspace_id):
                raise Problem(409, "A personal workspace cannot be deleted.", slug="personal-workspace")
            for document_id, blob_id in await documents.blobs_of_workspace(conn, workspace_id):
                await enqueue(conn, PurgeDocument(blob_id=blob_id, document_id=document_id))
            await repo.delete(conn, workspace_id)
            await caller.record(conn, "workspace.deleted", workspace_id, "workspace", workspace_id)

    async def members(self, caller: Caller, workspace_id: uuid.UUID) -> list[MemberOut]:
        async with self.pool.connection() as conn:
            await authorize(conn, caller.principal, workspace_id, Action.VIEW_WORKSPACE)
            rows = await repo.members(conn, workspace_id)
        return [MemberOut(str(r["user_id"]), r["email"], r["role"], r["joined_at"]) for r in rows]

    async def _target_role(
        self, conn: AsyncConnection[Any], workspace_id: uuid.UUID, user_id: uuid.UUID
    ) -> Role:
        for member in await repo.members(conn, workspace_id):
            if member["user_id"] == user_id:
                return Role(member["role"])
        raise member_not_found()

    async def set_role(
        self, caller: Caller, workspace_id: uuid.UUID, user_id: uuid.UUID, role: str
    ) -> MemberOut:
        new = Role(role)
        async with self.pool.connection() as conn, conn.transaction():
            await repo.lock_members(conn, workspace_id)
            mine = await authorize(conn, caller.principal, workspace_id, Action.MANAGE_MEMBERS)
            current = await self._target_role(conn, workspace_id, user_id)
            if current is Role.OWNER:
                raise Problem(
                    403, "The owner's role changes only by a transfer of ownership.", slug="owner-role"
                )
            if new.rank > mine.rank or current.rank > mine.rank:
                raise _above_own(mine)
            await repo.set_role(conn, workspace_id, str(user_id), new)
            await caller.record(
                conn,
                "member.role_changed",
                workspace_id,
                "user",
                user_id,
                role=str(new),
                previous_role=str(current),
            )
            rows = await repo.members(conn, workspace_id)
        row = next(r for r in rows if r["user_id"] == user_id)
        return MemberOut(str(row["user_id"]), row["email"], row["role"], row["joined_at"])

    async def remove(self, caller: Caller, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """An admin removes a member, or a member leaves (their own id)."""
        leaving = str(user_id) == caller.user_id
        async with self.pool.connection() as conn, conn.transaction():
            await repo.lock_members(conn, workspace_id)
            mine = await authorize(
                conn, caller.principal, workspace_id, Action.LEAVE if leaving else Action.MANAGE_MEMBERS
            )
            current = await self._target_role(conn, workspace_id, user_id)
            if current is Role.OWNER:
                raise Problem(
                    409,
                    "The owner cannot leave or be removed; transfer ownership first.",
                    slug="owner-cannot-leave",
                )
            if not leaving and current.rank > mine.rank:
                raise _above_own(mine)
            await repo.remove_member(conn, workspace_id, str(user_id))
            await caller.record(
                conn,
                "member.left" if leaving else "member.removed",
                workspace_id,
                "user",
                user_id,
                role=str(current),
            )

    async def invite(
        self, caller: Caller, workspace_id: uuid.UUID, role: str, hours: int
    ) -> InvitationCreated:
        wanted = Role(role)
        secret = secrets.token_urlsafe(32)
        async with self.pool.connection() as conn, conn.transaction():
            await repo.lock_members(conn, workspace_id)
            mine = await authorize(conn, caller.principal, workspace_id, Action.MANAGE_MEMBERS)
            if await repo.is_personal(conn, workspace_id):
                raise Problem(
                    409,
                    "A personal workspace cannot be shared; create a workspace to share.",
                    slug="personal-workspace",
                )
            if wanted.rank > mine.rank:
                raise _above_own(mine)
            if await repo.pending_invitation_count(conn, workspace_id) >= MAX_PENDING_INVITATIONS:
                raise _quota(
                    "invitations",
                    MAX_PENDING_INVITATIONS,
                    f"This workspace has {MAX_PENDING_INVITATIONS} open invitations, the most it may; "
                    "revoke some first.",
                )
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
            row = await repo.create_invitation(
                conn, workspace_id, hash_secret(secret), wanted, caller.user_id, expires
            )
            await caller.record(
                conn, "invitation.created", workspace_id, "invitation", row["id"], role=str(wanted)
            )
        out = invitation_out(row)
        return InvitationCreated(**{f: getattr(out, f) for f in out.__struct_fields__}, token=secret)

    async def invitations(self, caller: Caller, workspace_id: uuid.UUID) -> list[InvitationOut]:
        async with self.pool.connection() as conn:
            await authorize(conn, caller.principal, workspace_id, Action.MANAGE_MEMBERS)
            rows = await repo.pending_invitations(conn, workspace_id)
        return [invitation_out(r) for r in rows]

    async def revoke_invitation(
        self, caller: Caller, workspace_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await authorize(conn, caller.principal, workspace_id, Action.MANAGE_MEMBERS)
            row = await repo.revoke_invitation(conn, workspace_id, invitation_id)
            if row is None:
                raise Problem(404, "No such open invitation.", slug="invitation-not-found")
            await caller.record(conn, "invitation.revoked", workspace_id, "invitation", invitation_id)

    async def accept(self, caller: Caller, token: str) -> WorkspaceOut:
        """Join the workspace the invitation names, with its role; the invitation is then used up."""
        require_session(caller.principal)
        async with self.pool.connection() as conn, conn.transaction():
            # the workspace's row first, then the invitation's: the order every member change takes
            found = await repo.pending_invitation_workspace(conn, hash_secret(token))
            if found is not None:
                await repo.lock_members(conn, found)
            invitation = await repo.lock_pending_invitation(conn, hash_secret(token))
            if invitation is None:
                raise Problem(
                    404,
                    "This invitation does not exist, was used or revoked, or has expired.",
                    slug="invitation-not-found",
                )
            workspace_id = invitation["workspace_id"]
            if await repo.member_count(conn, workspace_id) >= MAX_MEMBERS:
                raise _quota(
                    "members", MAX_MEMBERS, f"This workspace has {MAX_MEMBERS} members, the most it may."
                )
            if not await repo.add_member(conn, workspace_id, caller.user_id, invitation["role"]):
                raise Problem(
                    409,
                    "You are already a member of this workspace.",
                    slug="already-member",
                    workspace_id=str(workspace_id),
                )
            await repo.mark_accepted(conn, invitation["id"], caller.user_id)
            await caller.record(
                conn,
                "invitation.accepted",
                workspace_id,
                "invitation",
                invitation["id"],
                role=invitation["role"],
            )
            row = await repo.get_for(conn, caller.user_id, workspace_id)
        assert row is not None
        return workspace_out(row)
