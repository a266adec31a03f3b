"""Workspaces, their members and invitations, the audit log, and accepting an invitation link.

The API decides every change: a page shows controls only where the user's role allows them, and any
refusal (403, 404, 409, 422) is shown beside the form that caused it, as the API worded it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, Parameter, QueryParameter
from litestar.response import Redirect, Template

from docket_web.server.api import Api
from docket_web.server.forms import RefusedError, change, field
from docket_web.server.render import AnyRequest, Pager, page, provide_api, with_query
from docket_web.server.workspaces import GRANTABLE_ROLES, ROLE_RANK, Workspaces, load_workspaces

AUDIT_PAGE_SIZE = 50
MAX_INVITATION_HOURS = 30 * 24
# the API's pattern for an invitation's secret; anything else cannot be one
InvitationToken = Annotated[str, Parameter(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


def invite_link(request: AnyRequest, token: str) -> str:
    """The absolute link to share: this site's accept page for ``token``."""
    return f"{str(request.base_url).rstrip('/')}/invitations/{token}"


class WorkspaceController(Controller):
    path = "/workspaces"
    dependencies = {"api": Provide(provide_api)}

    @get("/")
    async def list_workspaces(self, request: AnyRequest, api: NamedDependency[Api]) -> Template:
        """The user's workspaces with their role in each, and a form to create a shared one."""
        api.require_session()
        return page(request, "workspaces.html", ws=await load_workspaces(api), name="", error=None)

    @post("/")
    async def create(self, request: AnyRequest, api: NamedDependency[Api]) -> Response[Any]:
        """Create a shared workspace (the user owns it), then go to its documents."""
        form = await request.form()
        name = field(form, "name").strip()
        try:
            created = await change(api, "POST", "/api/v1/workspaces", {"name": name})
        except RefusedError as refusal:
            ws = await load_workspaces(api)
            return page(
                request, "workspaces.html", status=refusal.status, ws=ws, name=name, error=refusal.message
            )
        return Redirect(with_query("/documents", workspace=created["id"]), status_code=303)

    async def _members_page(
        self,
        request: AnyRequest,
        api: Api,
        workspace_id: uuid.UUID,
        *,
        status: int = 200,
        error: str | None = None,
        invitation: dict[str, Any] | None = None,
    ) -> Template:
        ws = await load_workspaces(api, str(workspace_id))
        members = await api.get_json(f"/api/v1/workspaces/{workspace_id}/members")
        invitations = (
            await api.get_json(f"/api/v1/workspaces/{workspace_id}/invitations")
            if ws.current.can_manage
            else []
        )
        session = api.require_session()
        my_rank = ROLE_RANK.get(ws.current.role, -1)
        return page(
            request,
            "members.html",
            status=status,
            ws=ws,
            members=members,
            invitations=invitations,
            me=session.email,
            roles=[role for role in GRANTABLE_ROLES if ROLE_RANK[role] <= my_rank],
            error=error,
            invitation=invitation,
            invitation_link=invite_link(request, invitation["token"]) if invitation else None,
            max_hours=MAX_INVITATION_HOURS,
        )

    @get("/{workspace_id:uuid}/members")
    async def members(
        self, request: AnyRequest, api: NamedDependency[Api], workspace_id: FromPath[uuid.UUID]
    ) -> Template:
        """The members and their roles; for admins, the controls and the open invitations."""
        return await self._members_page(request, api, workspace_id)

    async def _refused(
        self, request: AnyRequest, api: Api, workspace_id: uuid.UUID, refusal: RefusedError
    ) -> Template:
        """The members page again, with the API's refusal said on it."""
        return await self._members_page(
            request, api, workspace_id, status=refusal.status, error=refusal.message
        )

    async def _members_change(
        self,
        request: AnyRequest,
        api: Api,
        workspace_id: uuid.UUID,
        method: str,
        path: str,
        body: Any = None,
        done: str | None = None,
    ) -> Response[Any]:
        """Ask the API for a change; then ``done`` (the members page unless given), or the refusal."""
        try:
            await change(api, method, path, body)
        except RefusedError as refusal:
            return await self._refused(request, api, workspace_id, refusal)
        return Redirect(done or f"/workspaces/{workspace_id}/members", status_code=303)

    @post("/{workspace_id:uuid}/members/{user_id:uuid}/role")
    async def set_role(
        self,
        request: AnyRequest,
        api: NamedDependency[Api],
        workspace_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Change a member's role (the API refuses above the admin's own, or for the owner)."""
        role = field(await request.form(), "role", 20)
        path = f"/api/v1/workspaces/{workspace_id}/members/{user_id}"
        return await self._members_change(request, api, workspace_id, "PATCH", path, {"role": role})

    @post("/{workspace_id:uuid}/members/{user_id:uuid}/remove")
    async def remove(
        self,
        request: AnyRequest,
        api: NamedDependency[Api],
        workspace_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Remove a member (admin), or leave (one's own row): leaving goes back to one's documents."""
        path = f"/api/v1/workspaces/{workspace_id}/members/{user_id}"
        ws = await load_workspaces(api, str(workspace_id))
        leaving = request.query_params.get("leave") == "1"
        done = "/documents" if leaving or not ws.current.can_manage else None
        return await self._members_change(request, api, workspace_id, "DELETE", path, done=done)

    @post("/{workspace_id:uuid}/rename")
    async def rename(
        self, request: AnyRequest, api: NamedDependency[Api], workspace_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """Rename a shared workspace (owner)."""
        name = field(await request.form(), "name").strip()
        path = f"/api/v1/workspaces/{workspace_id}"
        return await self._members_change(request, api, workspace_id, "PATCH", path, {"name": name})

    @post("/{workspace_id:uuid}/transfer")
    async def transfer(
        self, request: AnyRequest, api: NamedDependency[Api], workspace_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """Hand the workspace to another member (owner); the old owner stays, as an admin."""
        owner = field(await request.form(), "owner_id", 36)
        path = f"/api/v1/workspaces/{workspace_id}"
        return await self._members_change(request, api, workspace_id, "PATCH", path, {"owner_id": owner})

    @post("/{workspace_id:uuid}/delete")
    async def delete(
        self, request: AnyRequest, api: NamedDependency[Api], workspace_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """Delete a shared workspace and its documents (owner), once its name is typed to confirm."""
        ws = await load_workspaces(api, str(workspace_id))
        if field(await request.form(), "confirm_name").strip() != ws.current.name:
            error = f"Type the workspace's name, {ws.current.name}, to confirm that it and its documents go."
            return await self._members_page(request, api, workspace_id, status=422, error=error)
        path = f"/api/v1/workspaces/{workspace_id}"
        return await self._members_change(request, api, workspace_id, "DELETE", path, done="/documents")

    @post("/{workspace_id:uuid}/invitations")
    async def invite(
        self, request: AnyRequest, api: NamedDependency[Api], workspace_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """Create an invitation link; its secret is on this one page and nowhere else."""
        form = await request.form()
        body: dict[str, Any] = {"role": field(form, "role", 20)}
        hours = field(form, "expires_in_hours", 10).strip()
        if hours:
            body["expires_in_hours"] = int(hours) if hours.isdigit() else hours
        try:
            created = await change(api, "POST", f"/api/v1/workspaces/{workspace_id}/invitations", body)
        except RefusedError as refusal:
            return await self._refused(request, api, workspace_id, refusal)
        return await self._members_page(request, api, workspace_id, status=201, invitation=created)

    @post("/{workspace_id:uuid}/invitations/{invitation_id:uuid}/revoke")
    async def revoke(
        self,
        request: AnyRequest,
        api: NamedDependency[Api],
        workspace_id: FromPath[uuid.UUID],
        invitation_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Revoke an open invitation: its link stops working at once."""
        path = f"/api/v1/workspaces/{workspace_id}/invitations/{invitation_id}"
        return await self._members_change(request, api, workspace_id, "DELETE", path)

    @get("/{workspace_id:uuid}/audit")
    async def audit(
        self,
        request: AnyRequest,
        api: NamedDependency[Api],
        workspace_id: FromPath[uuid.UUID],
        cursor: Annotated[str | None, QueryParameter(max_length=19, pattern=r"^[0-9]{1,18}$")] = None,
        back: Annotated[list[str] | None, QueryParameter(max_items=40)] = None,
    ) -> Template:
        """The workspace's audit log, newest first, with an "older" link (admins; the API decides)."""
        ws: Workspaces = await load_workspaces(api, str(workspace_id))
        found = await api.get_json(
            f"/api/v1/workspaces/{workspace_id}/audit", {"limit": AUDIT_PAGE_SIZE, "cursor": cursor}
        )
        members = await api.get_json(f"/api/v1/workspaces/{workspace_id}/members")
        emails = {member["user_id"]: member["email"] for member in members}
        pager = Pager(f"/workspaces/{workspace_id}/audit", {}, cursor, back or [], found.get("next_cursor"))
        return page(request, "audit.html", ws=ws, entries=found["items"], emails=emails, pager=pager)


class InvitationController(Controller):
    path = "/invitations"
    dependencies = {"api": Provide(provide_api)}

    @get("/{token:str}")
    async def show(self, request: AnyRequest, api: NamedDependency[Api], token: InvitationToken) -> Template:
        """The invite link's page: a signed-out visitor signs in first and comes back here."""
        api.require_session()
        return page(request, "invitation.html", ws=await load_workspaces(api), token=token, error=None)

    @post("/{token:str}/accept")
    async def accept(
        self, request: AnyRequest, api: NamedDependency[Api], token: InvitationToken
    ) -> Response[Any]:
        """Join the workspace with the invitation's role, then show its documents."""
        try:
            joined = await change(api, "POST", f"/api/v1/invitations/{token}/accept")
        except RefusedError as refusal:
            if refusal.status == 404:
                refusal.message = "This invitation link is not valid: it was used, revoked, or has expired."
            ws = await load_workspaces(api)
            return page(
                request, "invitation.html", status=refusal.status, ws=ws, token=token, error=refusal.message
            )
        return Redirect(with_query("/documents", workspace=joined["id"]), status_code=303)
