"""``/api/v1/workspaces`` and ``/api/v1/invitations``: workspaces, members, invitations, tags and audit."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from docket_api.domain.audit.caller import Caller, provide_caller
from docket_api.domain.audit.service import AuditPage, read_audit
from docket_api.domain.responses import AUTH_PROBLEM_RESPONSES, problem_spec
from docket_api.domain.tags.service import TagCount, tag_counts
from docket_api.domain.workspaces.schemas import (
    InvitationCreated,
    InvitationIn,
    InvitationOut,
    MemberOut,
    MemberPatch,
    WorkspaceIn,
    WorkspaceOut,
    WorkspacePatch,
)
from docket_api.domain.workspaces.service import WorkspaceService

RESPONSES = {
    **AUTH_PROBLEM_RESPONSES,
    403: problem_spec(
        "Your role in the workspace (or your token's scope) does not allow this, or a limit is reached"
    ),
    404: problem_spec("No such workspace (or you are not a member), member or invitation"),
    409: problem_spec(
        "Not possible in this state: a personal workspace, the owner leaving, already a member"
    ),
}
AUDIT_CURSOR = QueryParameter(
    max_length=19, pattern=r"^[0-9]{1,18}$(?!\n)", description="`next_cursor` of the previous page"
)
INVITATION_TOKEN = Parameter(
    min_length=16,
    max_length=100,
    pattern=r"^[A-Za-z0-9_-]+$(?!\n)",
    description="The secret of the invitation link",
)


def provide_workspaces(request: Request[Any, Any, Any]) -> WorkspaceService:
    return request.app.state.workspaces  # type: ignore[no-any-return]


class SignedInWorkspaceRoutes(Controller):
    """What every workspace and invitation route shares: its tag, a bearer token, the caller and the
    service. Not registered itself; the controllers below extend it."""

    tags = ["workspaces"]
    security = [{"BearerToken": []}]
    dependencies = {
        "caller": Provide(provide_caller, sync_to_thread=False),
        "workspaces": Provide(provide_workspaces, sync_to_thread=False),
    }


class WorkspaceController(SignedInWorkspaceRoutes):
    path = "/api/v1/workspaces"

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create a shared workspace (you own it)",
        responses=RESPONSES,
    )
    async def create_workspace(
        self,
        data: JSONBody[WorkspaceIn],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> WorkspaceOut:
        return await workspaces.create(caller, data.name)

    @get("/", summary="Your workspaces, personal first, with your role in each", responses=RESPONSES)
    async def list_workspaces(
        self, caller: NamedDependency[Caller], workspaces: NamedDependency[WorkspaceService]
    ) -> list[WorkspaceOut]:
        return await workspaces.list_for(caller)

    @get("/{workspace_id:uuid}", summary="A workspace and your role in it", responses=RESPONSES)
    async def get_workspace(
        self,
        workspace_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> WorkspaceOut:
        return await workspaces.get(caller, workspace_id)

    @patch(
        "/{workspace_id:uuid}",
        summary="Rename (owner) or transfer ownership to a member (owner)",
        responses=RESPONSES,
    )
    async def update_workspace(
        self,
        workspace_id: FromPath[uuid.UUID],
        data: JSONBody[WorkspacePatch],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> WorkspaceOut:
        return await workspaces.update(caller, workspace_id, data)

    @delete(
        "/{workspace_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a shared workspace and its documents (owner)",
        responses=RESPONSES,
    )
    async def delete_workspace(
        self,
        workspace_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> None:
        await workspaces.delete(caller, workspace_id)

    @get("/{workspace_id:uuid}/members", summary="The members and their roles", responses=RESPONSES)
    async def list_members(
        self,
        workspace_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> list[MemberOut]:
        return await workspaces.members(caller, workspace_id)

    @patch(
        "/{workspace_id:uuid}/members/{user_id:uuid}",
        summary="Change a member's role (admin; never above your own)",
        responses=RESPONSES,
    )
    async def update_member(
        self,
        workspace_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[MemberPatch],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> MemberOut:
        return await workspaces.set_role(caller, workspace_id, user_id, data.role)

    @delete(
        "/{workspace_id:uuid}/members/{user_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove a member (admin), or leave (your own id)",
        responses=RESPONSES,
    )
    async def remove_member(
        self,
        workspace_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> None:
        await workspaces.remove(caller, workspace_id, user_id)

    @post(
        "/{workspace_id:uuid}/invitations",
        status_code=HTTP_201_CREATED,
        summary="Create an invitation link (admin); its token is shown once",
        responses=RESPONSES,
    )
    async def create_invitation(
        self,
        workspace_id: FromPath[uuid.UUID],
        data: JSONBody[InvitationIn],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> InvitationCreated:
        return await workspaces.invite(caller, workspace_id, data.role, data.expires_in_hours)

    @get("/{workspace_id:uuid}/invitations", summary="Open invitations (admin)", responses=RESPONSES)
    async def list_invitations(
        self,
        workspace_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> list[InvitationOut]:
        return await workspaces.invitations(caller, workspace_id)

    @delete(
        "/{workspace_id:uuid}/invitations/{invitation_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Revoke an open invitation (admin)",
        responses=RESPONSES,
    )
    async def revoke_invitation(
        self,
        workspace_id: FromPath[uuid.UUID],
        invitation_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> None:
        await workspaces.revoke_invitation(caller, workspace_id, invitation_id)

    @get(
        "/{workspace_id:uuid}/tags",
        summary="The workspace's tags, each with how many documents carry it",
        responses=RESPONSES,
    )
    async def list_tags(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
    ) -> list[TagCount]:
        return await tag_counts(request.app.state.pool, caller, workspace_id)

    @get(
        "/{workspace_id:uuid}/audit",
        summary="The workspace's audit log, newest first (admin)",
        responses=RESPONSES,
    )
    async def audit_log(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, AUDIT_CURSOR] = None,
    ) -> AuditPage:
        return await read_audit(
            request.app.state.pool, caller, workspace_id, limit, int(cursor) if cursor else None
        )


class InvitationController(SignedInWorkspaceRoutes):
    path = "/api/v1/invitations"

    @post(
        "/{token:str}/accept",
        status_code=HTTP_201_CREATED,
        summary="Accept an invitation (signed-in session): join its workspace with its role",
        responses=RESPONSES,
    )
    async def accept_invitation(
        self,
        token: Annotated[str, INVITATION_TOKEN],
        caller: NamedDependency[Caller],
        workspaces: NamedDependency[WorkspaceService],
    ) -> WorkspaceOut:
        return await workspaces.accept(caller, token)
