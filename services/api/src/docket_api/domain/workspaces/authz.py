"""Authorization: one table of role x action, asked by every route, and nothing else.

A caller who is not a member of the workspace gets 404, exactly as for a workspace that does not
exist, so ids leak nothing. A member whose role (or whose personal token's scopes) does not allow the
action gets 403. A personal token never grants more than its owner's role at the moment of use: the
role is read from ``memberships`` on every request.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

from psycopg import AsyncConnection

from docket_api.domain.auth.tokens import Principal
from docket_core.http.problems import Problem


class Role(enum.StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class Action(enum.StrEnum):
    VIEW_WORKSPACE = "view_workspace"  # the workspace, its members and its tags
    READ_DOCUMENTS = "read_documents"  # list, search, read, download, events
    WRITE_DOCUMENTS = "write_documents"  # upload, edit title and tags, reprocess, delete
    LEAVE = "leave"
    MANAGE_MEMBERS = "manage_members"  # roles, removals, invitations
    READ_AUDIT = "read_audit"
    RENAME_WORKSPACE = "rename_workspace"
    DELETE_WORKSPACE = "delete_workspace"
    TRANSFER_OWNERSHIP = "transfer_ownership"


class Scope(enum.StrEnum):
    DOCUMENTS_READ = "documents:read"
    DOCUMENTS_WRITE = "documents:write"
    WORKSPACES_ADMIN = "workspaces:admin"


_V, _E, _A, _O = Role.VIEWER, Role.EDITOR, Role.ADMIN, Role.OWNER
# The table: for each action, the roles that may take it, and the token scope it needs.
PERMISSIONS: dict[Action, tuple[frozenset[Role], Scope]] = {
    Action.VIEW_WORKSPACE: (frozenset({_V, _E, _A, _O}), Scope.DOCUMENTS_READ),
    Action.READ_DOCUMENTS: (frozenset({_V, _E, _A, _O}), Scope.DOCUMENTS_READ),
    Action.WRITE_DOCUMENTS: (frozenset({_E, _A, _O}), Scope.DOCUMENTS_WRITE),
    Action.LEAVE: (frozenset({_V, _E, _A, _O}), Scope.WORKSPACES_ADMIN),
    Action.MANAGE_MEMBERS: (frozenset({_A, _O}), Scope.WORKSPACES_ADMIN),
    Action.READ_AUDIT: (frozenset({_A, _O}), Scope.WORKSPACES_ADMIN),
    Action.RENAME_WORKSPACE: (frozenset({_O}), Scope.WORKSPACES_ADMIN),
    Action.DELETE_WORKSPACE: (frozenset({_O}), Scope.WORKSPACES_ADMIN),
    Action.TRANSFER_OWNERSHIP: (frozenset({_O}), Scope.WORKSPACES_ADMIN),
}


def allows(role: Role, action: Action) -> bool:
    """Whether ``role`` may take ``action`` (the table, without a caller)."""
    return role in PERMISSIONS[action][0]


def has_scope(principal: Principal, scope: Scope) -> bool:
    return principal.scopes is None or scope in principal.scopes


def require_scope(principal: Principal, scope: Scope) -> None:
    """403 for a personal token without ``scope`` (a session holds every scope)."""
    if not has_scope(principal, scope):
        raise Problem(
            403, f"This token lacks the scope {scope}.", slug="insufficient-scope", scope=str(scope)
        )


def require_session(principal: Principal) -> None:
    """403 for a personal token: managing tokens and accepting invitations need a signed-in user."""
    if not principal.is_session:
        raise Problem(
            403, "This needs a signed-in session, not a personal access token.", slug="session-required"
        )


def workspace_not_found() -> Problem:
    return Problem(404, "No such workspace.", slug="workspace-not-found")


def reaches(principal: Principal, workspace_id: uuid.UUID) -> bool:
    """Whether the caller's credential may reach the workspace at all (a token may be limited to one)."""
    return principal.workspace_id is None or principal.workspace_id == str(workspace_id)


async def role_in(conn: AsyncConnection[Any], user_id: str, workspace_id: uuid.UUID) -> Role | None:
    cur = await conn.execute(
        "SELECT role FROM memberships WHERE workspace_id = %s AND user_id = %s", (workspace_id, user_id)
    )
    row = await cur.fetchone()
    return Role(row["role"]) if row else None  # type: ignore[call-overload]


def decide(principal: Principal, workspace_id: uuid.UUID, role: Role | None, action: Action) -> Role:
    """The caller's role when the table allows ``action``; else the problem to answer (404 or 403)."""
    if role is None or not reaches(principal, workspace_id):
        raise workspace_not_found()
    roles, scope = PERMISSIONS[action]
    if role not in roles:
        raise Problem(
            403,
            f"Your role ({role}) in this workspace does not allow this.",
            slug="forbidden",
            role=str(role),
        )
    require_scope(principal, scope)
    return role


async def authorize(
    conn: AsyncConnection[Any], principal: Principal, workspace_id: uuid.UUID, action: Action
) -> Role:
    """Ask the table whether the caller may take ``action`` in the workspace; returns their role."""
    return decide(principal, workspace_id, await role_in(conn, principal.user_id, workspace_id), action)


# The workspaces a user is a member of, as a subquery another statement can embed (with the user's id).
MEMBER_WORKSPACES_SQL = "SELECT workspace_id FROM memberships WHERE user_id = %s"


def member_workspaces(principal: Principal) -> tuple[str, str] | None:
    """What :func:`visible_workspaces` reads, as (subquery, user id) for a statement to embed, when the
    caller's credential reaches all of them (None for a token limited to one workspace); 403 for a
    token without ``documents:read``."""
    require_scope(principal, Scope.DOCUMENTS_READ)
    return (MEMBER_WORKSPACES_SQL, principal.user_id) if principal.workspace_id is None else None


async def visible_workspaces(conn: AsyncConnection[Any], principal: Principal) -> list[uuid.UUID]:
    """Every workspace whose documents the caller may read (a limited token: at most its one); 403
    for a token without ``documents:read``."""
    require_scope(principal, Scope.DOCUMENTS_READ)
    cur = await conn.execute(MEMBER_WORKSPACES_SQL, (principal.user_id,))
    ids = [row["workspace_id"] for row in await cur.fetchall()]  # type: ignore[call-overload]
    return [ws for ws in ids if reaches(principal, ws)]
