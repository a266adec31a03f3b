"""The workspace a page acts in: named by ``?workspace=`` (or a document's own), else the personal one.

Every signed-in page shows the switcher, so each asks the API for the user's workspaces (personal first,
with the user's role in each). A workspace id the user is not a member of is a 404, as the API says.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from docket_web.server.api import Api, ApiError

ROLE_RANK = {"viewer": 0, "editor": 1, "admin": 2, "owner": 3}
GRANTABLE_ROLES = ("viewer", "editor", "admin")


class Workspace(msgspec.Struct, frozen=True):
    id: str
    name: str
    personal: bool
    role: str

    def can(self, least_role: str) -> bool:
        """Whether the user's role here is at least ``least_role`` (the API decides again)."""
        return ROLE_RANK.get(self.role, -1) >= ROLE_RANK[least_role]

    @property
    def can_edit(self) -> bool:
        return self.can("editor")

    @property
    def can_manage(self) -> bool:
        return self.can("admin")


class Workspaces(msgspec.Struct, frozen=True):
    """The user's workspaces and the current one (what the header's switcher shows)."""

    all: list[Workspace]
    current: Workspace

    @property
    def query(self) -> dict[str, str]:
        """The ``workspace`` query of links that stay in the current workspace (none for the personal)."""
        return {} if self.current.personal else {"workspace": self.current.id}


def parse_workspace_id(value: str | None) -> str | None:
    """A canonical workspace id, or None for none; anything else is a 404 (no such workspace)."""
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, "") from None


async def load_workspaces(api: Api, chosen: str | None = None) -> Workspaces:
    """The user's workspaces, with ``chosen`` (or the personal one) as the current one."""
    listed: list[dict[str, Any]] = await api.get_json("/api/v1/workspaces")
    workspaces = [msgspec.convert(item, Workspace, strict=False) for item in listed]
    wanted = parse_workspace_id(chosen)
    for workspace in workspaces:
        if (wanted is None and workspace.personal) or workspace.id == wanted:
            return Workspaces(workspaces, workspace)
    raise ApiError(404, "")
